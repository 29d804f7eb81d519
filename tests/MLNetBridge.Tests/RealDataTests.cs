using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace GradientHooks.MLNet.Tests;

/// <summary>The trainer inside ordinary ML.NET pipelines on the real data sets of ../shared/data.</summary>
public sealed class RealDataTests(ITestOutputHelper output)
{
    [DataFact("iris.txt")]
    public void Iris_multiclass_pipeline_evaluates_and_maps_predictions_back_to_labels()
    {
        var ml = new MLContext(1);
        var split = ml.Data.TrainTestSplit(SharedData.Iris(ml), 0.3, seed: 1);
        var epochs = new List<TorchMlpEpoch>();
        var pipeline = ml.Transforms.Conversion.MapValueToKey("LabelKey", "Label")
            .Append(ml.Transforms.NormalizeMinMax("Features", "Measurements"))
            .Append(ml.MulticlassClassification.Trainers.TorchMlp(new TorchMlpOptions
            {
                LabelColumnName = "LabelKey", Epochs = 60, HiddenLayers = new[] { 32, 32 }, BatchSize = 64, LearningRate = 1e-2, Seed = 1, Progress = new Collect(epochs),
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel"));
        var model = pipeline.Fit(split.TrainSet);
        var scored = model.Transform(split.TestSet);
        var metrics = ml.MulticlassClassification.Evaluate(scored, labelColumnName: "LabelKey");
        output.WriteLine($"iris: micro accuracy {metrics.MicroAccuracy:F3}, log-loss {metrics.LogLoss:F3}");

        Assert.True(metrics.MicroAccuracy >= 0.9, $"accuracy {metrics.MicroAccuracy}");
        Assert.True(metrics.LogLoss < 0.5, $"log-loss {metrics.LogLoss}");
        // PredictedLabel carries the label's names: mapping it back gives the original label values.
        var truth = scored.GetColumn<float>("Label").ToArray();
        var predicted = scored.GetColumn<float>("PredictedClass").ToArray();
        Assert.True(truth.Zip(predicted).Count(p => p.First == p.Second) >= 0.9 * truth.Length);
        // PredictedLabel is the arg-max of Score, and agrees with Evaluate's accuracy.
        var keys = scored.GetColumn<uint>("LabelKey").ToArray();
        var predictedKeys = scored.GetColumn<uint>("PredictedLabel").ToArray();
        var argMax = scored.GetColumn<float[]>("Score").Select(s => (uint)Array.IndexOf(s, s.Max()) + 1).ToArray();
        Assert.Equal(argMax, predictedKeys);
        Assert.Equal(metrics.MicroAccuracy, keys.Zip(predictedKeys).Count(p => p.First == p.Second) / (double)keys.Length, 10);
        // Score rows are probabilities.
        Assert.All(scored.GetColumn<float[]>("Score"), s => Assert.Equal(1.0, s.Sum(), 4));

        var trainer = Assert.IsType<TorchMlpTransformer>(model.ElementAt(2));
        Assert.Equal(60, trainer.TrainingHistory.Count);
        Assert.Equal(60, epochs.Count);
        Assert.Equal(Enumerable.Range(1, 60), epochs.Select(e => e.Epoch));
        Assert.True(epochs[^1].Loss < epochs[0].Loss / 3, $"loss {epochs[0].Loss} → {epochs[^1].Loss}");
        Assert.NotNull(trainer.TrainingDiagnosis);
        Assert.True(trainer.TrainingDiagnosis!.HasEnoughData);
        Assert.Equal(120, trainer.TrainingDiagnosis.LastStep); // 60 epochs × 2 batches of ≤ 64 rows, all monitored
        Assert.DoesNotContain(trainer.TrainingDiagnosis.Findings, f => f.Severity != Diagnostics.Severity.Info &&
            f.Kind is Diagnostics.FindingKind.VanishingGradients or Diagnostics.FindingKind.ExplodingGradients or Diagnostics.FindingKind.NonFiniteGradients);
    }

    [DataFact("breast-cancer.txt")]
    public void Breast_cancer_with_missing_values_replaced_reaches_a_high_AUC()
    {
        var ml = new MLContext(1);
        var data = SharedData.BreastCancer(ml);
        Assert.Contains(data.GetColumn<float[]>("Cells"), row => row.Any(float.IsNaN)); // the '?' cells really are missing
        var split = ml.Data.TrainTestSplit(data, 0.3, seed: 1);
        var pipeline = ml.Transforms.ReplaceMissingValues("Cells", replacementMode: Microsoft.ML.Transforms.MissingValueReplacingEstimator.ReplacementMode.Mean)
            .Append(ml.Transforms.NormalizeMinMax("Features", "Cells"))
            .Append(ml.BinaryClassification.Trainers.TorchMlp(epochs: 20, seed: 1));
        var model = pipeline.Fit(split.TrainSet);
        var metrics = ml.BinaryClassification.Evaluate(model.Transform(split.TestSet));
        output.WriteLine($"breast cancer: AUC {metrics.AreaUnderRocCurve:F4}, accuracy {metrics.Accuracy:F3}, log-loss {metrics.LogLoss:F3}");
        Assert.True(metrics.AreaUnderRocCurve > 0.97, $"AUC {metrics.AreaUnderRocCurve}");
        Assert.True(metrics.Accuracy > 0.93, $"accuracy {metrics.Accuracy}");
    }

    [DataFact("breast-cancer.txt")]
    public void Breast_cancer_without_replacing_missing_values_names_the_problem()
    {
        var ml = new MLContext(1);
        var pipeline = ml.Transforms.NormalizeMinMax("Features", "Cells").Append(ml.BinaryClassification.Trainers.TorchMlp(epochs: 1, seed: 1));
        var error = Assert.Throws<InvalidOperationException>(() => pipeline.Fit(SharedData.BreastCancer(ml)));
        Assert.Contains("Feature column 'Features' has NaN at row", error.Message);
        Assert.Contains("slot 5", error.Message); // the sixth measure (bare nuclei) is the one with '?'
    }

    private sealed class Collect(List<TorchMlpEpoch> sink) : IProgress<TorchMlpEpoch>
    {
        public void Report(TorchMlpEpoch value) => sink.Add(value);
    }
}
