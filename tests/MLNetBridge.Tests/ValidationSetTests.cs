using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary><c>Fit(trainData, validationData)</c>, as FastTree and LightGBM take it: every training row trains, the validation rows give the per-epoch validation loss and early stopping.</summary>
public sealed class ValidationSetTests
{
    private sealed class WideRow
    {
        [VectorType(5)] public float[] Features = new float[5];
        public float Label = 1;
    }

    [Fact]
    public void The_validation_loss_of_every_epoch_is_measured_on_the_validation_set_and_the_best_epoch_is_returned()
    {
        var ml = new MLContext(1);
        var train = Synthetic.Regression(ml, 640);
        var valid = Synthetic.Regression(ml, 200, seed: 7);
        var model = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 6, Seed = 1, EarlyStoppingPatience = 0 }).Fit(train, valid);

        Assert.All(model.TrainingHistory, e => Assert.Equal(20, e.Steps));   // all 640 rows train, 32 a step
        var losses = model.TrainingHistory.Select(e => e.ValidationLoss!.Value).ToArray();
        Assert.Equal(6, losses.Length);

        // Independently: the returned model's mean squared error on the validation rows, in the standardised label's
        // units (divided by the training labels' population variance), is the lowest epoch's validation loss.
        var trainLabels = train.GetColumn<float>("Label").Select(v => (double)v).ToArray();
        double mean = trainLabels.Average(), variance = trainLabels.Average(v => (v - mean) * (v - mean));
        var scored = model.Transform(valid);
        var mse = scored.GetColumn<float>("Label").Zip(scored.GetColumn<float>("Score"), (y, s) => (double)(s - y) * (s - y)).Average();
        Assert.Equal(losses.Min(), mse / variance, 4);
    }

    [Fact]
    public void Early_stopping_stops_on_the_validation_set()
    {
        var ml = new MLContext(1);
        var model = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions
        {
            Epochs = 60, Seed = 1, EarlyStoppingPatience = 2, LearningRate = 0.5, HiddenLayers = new[] { 16 }, LearningRateSchedule = LearningRateSchedule.Constant,
        }).Fit(Synthetic.Regression(ml, 400), Synthetic.Regression(ml, 100, seed: 7));
        Assert.True(model.TrainingHistory.Count < 60, $"ran all {model.TrainingHistory.Count} epochs");
    }

    [Fact]
    public void A_validation_set_that_does_not_match_is_refused_by_name()
    {
        var ml = new MLContext(1);
        var train = Synthetic.Regression(ml, 100);
        var trainer = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 1 });

        var wide = ml.Data.LoadFromEnumerable(new[] { new WideRow(), new WideRow() });
        var size = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(train, wide));
        Assert.Equal("validationData", size.ParamName);
        Assert.Contains("feature column 'Features' has 5 slots; the training data's has 4", size.Message);

        var noLabel = ml.Transforms.DropColumns("Label").Fit(train).Transform(train);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(train, noLabel));
        Assert.Equal("validationData", missing.ParamName);
        Assert.Contains("label column 'Label'", missing.Message);

        var badRows = Synthetic.Regression(ml, 20, seed: 3);
        var withNaN = ml.Data.LoadFromEnumerable(badRows.GetColumn<float[]>("Features").Select((f, i) => new Synthetic.RegressionRow { Features = f, Label = i == 3 ? float.NaN : 1 }).ToArray());
        var nan = Assert.Throws<InvalidOperationException>(() => trainer.Fit(train, withNaN));
        Assert.StartsWith("In the validation data: Label column 'Label' has NaN at row 3", nan.Message);

        var both = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 1, ValidationFraction = 0.2 });
        var twice = Assert.Throws<ArgumentException>(() => both.Fit(train, Synthetic.Regression(ml, 20, seed: 3)));
        Assert.Contains("TorchMlpOptions.ValidationFraction must be 0 when a validation set is passed to Fit", twice.Message);
    }

    [Fact]
    public void Multiclass_validation_labels_need_the_training_key_type()
    {
        var ml = new MLContext(1);
        var train = Synthetic.Quadrants(ml, 120);
        var toKey = ml.Transforms.Conversion.MapValueToKey("Label", "Class").Fit(train);
        var trainer = ml.MulticlassClassification.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 2, Seed = 1 });
        var ok = trainer.Fit(toKey.Transform(train), toKey.Transform(Synthetic.Quadrants(ml, 60, seed: 9)));
        Assert.All(ok.TrainingHistory, e => Assert.NotNull(e.ValidationLoss));

        // Keys mapped by a MapValueToKey fitted on other rows (two classes only) do not line up with the training keys.
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(toKey.Transform(train), OtherKeys(ml, train)));
        Assert.Equal("validationData", error.ParamName);
        Assert.Contains("has 2 classes; the training data's has 4", error.Message);
    }

    private sealed class ClassOnly
    {
        public string Class = "";
    }

    /// <summary>The same rows keyed by a MapValueToKey fitted on a subset holding two of the four classes.</summary>
    private static IDataView OtherKeys(MLContext ml, IDataView rows)
    {
        var subset = ml.Data.LoadFromEnumerable(new[] { new ClassOnly { Class = "NE" }, new ClassOnly { Class = "SW" } });
        var keys = ml.Transforms.Conversion.MapValueToKey("Label", "Class").Fit(subset);
        return keys.Transform(rows);
    }
}
