using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>Data the network cannot learn from is refused with the column, the row and the fix.</summary>
public sealed class TrainingDataErrorTests
{
    private sealed class Row
    {
        [VectorType(3)] public float[] Features = { 1, 2, 3 };
        public float Label;
        public string Class = "a";
    }

    private static IDataView View(MLContext ml, params Row[] rows) => ml.Data.LoadFromEnumerable(rows);

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    public void A_non_finite_feature_names_column_row_and_slot(float bad, string shown)
    {
        var ml = new MLContext(1);
        var data = View(ml, new Row(), new Row(), new Row { Features = new[] { 1f, bad, 3f } });
        var error = Assert.Throws<InvalidOperationException>(() => ml.Regression.Trainers.TorchMlp(epochs: 1).Fit(data));
        Assert.Contains($"Feature column 'Features' has {shown} at row 2, slot 1", error.Message);
        Assert.Contains("ReplaceMissingValues", error.Message);
    }

    [Fact]
    public void A_NaN_regression_label_names_the_row()
    {
        var ml = new MLContext(1);
        var data = View(ml, new Row(), new Row { Label = float.NaN });
        var error = Assert.Throws<InvalidOperationException>(() => ml.Regression.Trainers.TorchMlp(epochs: 1).Fit(data));
        Assert.Contains("Label column 'Label' has NaN at row 1", error.Message);
    }

    [Fact]
    public void A_missing_class_key_names_the_row()
    {
        var ml = new MLContext(1);
        var train = View(ml, new Row { Class = "a" }, new Row { Class = "b" });
        var mapper = ml.Transforms.Conversion.MapValueToKey("Label", "Class").Fit(train);
        var data = mapper.Transform(View(ml, new Row { Class = "a" }, new Row { Class = "b" }, new Row { Class = "unseen" }));
        var error = Assert.Throws<InvalidOperationException>(() => ml.MulticlassClassification.Trainers.TorchMlp(epochs: 1).Fit(data));
        Assert.Contains("Label column 'Label' has a missing key value at row 2", error.Message);
    }

    [Fact]
    public void BatchNorm_on_a_single_row_is_refused_with_the_reason()
    {
        var ml = new MLContext(1);
        var error = Assert.Throws<InvalidOperationException>(() => ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { BatchNorm = true, Epochs = 1 }).Fit(View(ml, new Row())));
        Assert.Contains("BatchNorm needs at least 2 training rows; the data has 1", error.Message);
    }

    [Fact]
    public void An_empty_data_view_is_refused()
    {
        var ml = new MLContext(1);
        var error = Assert.Throws<InvalidOperationException>(() => ml.Regression.Trainers.TorchMlp(epochs: 1).Fit(View(ml)));
        Assert.Contains("no rows", error.Message);
    }

    [Fact]
    public void A_single_class_key_is_refused_as_a_schema_error()
    {
        var ml = new MLContext(1);
        var view = View(ml, new Row(), new Row());
        var data = ml.Transforms.Conversion.MapValueToKey("Label", "Class").Fit(view).Transform(view);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.TorchMlp(epochs: 1).Fit(data));
        Assert.Contains("at least 2 values", error.Message);
    }

    [Fact]
    public void Scoring_NaN_features_gives_NaN_scores_and_a_missing_predicted_key()
    {
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, 40).Select(i => new Row { Features = new[] { i % 2f, 1f, 2f }, Class = i % 2 == 0 ? "a" : "b" }).ToArray();
        var view = View(ml, rows);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Class").Append(ml.MulticlassClassification.Trainers.TorchMlp(epochs: 2, seed: 1));
        var model = pipeline.Fit(view);
        var scored = model.Transform(View(ml, new Row { Features = new[] { float.NaN, 1f, 2f }, Class = "a" }));
        var score = scored.GetColumn<float[]>("Score").Single();
        var predicted = scored.GetColumn<uint>("PredictedLabel").Single();
        Assert.All(score, v => Assert.True(float.IsNaN(v)));
        Assert.Equal(0u, predicted); // the missing key
    }
}
