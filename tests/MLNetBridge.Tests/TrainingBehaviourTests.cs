using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using GradientHooks.Initialization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>Seeds, diagnosis, clipping and the non-finite guard as seen through the trainer.</summary>
public sealed class TrainingBehaviourTests
{
    [Fact]
    public void The_same_seed_gives_the_same_model_and_another_seed_a_different_one()
    {
        float[] Scores(int seed)
        {
            var ml = new MLContext(seed);
            var data = Synthetic.Binary(ml, 300);
            var model = ml.BinaryClassification.Trainers.TorchMlp(epochs: 3, seed: seed).Fit(data);
            return model.Transform(data).GetColumn<float>("Score").ToArray();
        }

        Assert.Equal(Scores(5), Scores(5));
        Assert.NotEqual(Scores(5), Scores(6));
    }

    [Fact]
    public void An_explicit_CPU_device_gives_the_same_model_as_the_default()
    {
        float[] Scores(TorchSharp.torch.Device? device)
        {
            var ml = new MLContext(1);
            var data = Synthetic.Regression(ml, 200);
            var model = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 2, Seed = 3, Device = device }).Fit(data);
            return model.Transform(data).GetColumn<float>("Score").ToArray();
        }

        Assert.Equal(Scores(null), Scores(TorchSharp.torch.CPU));
    }

    [Fact]
    public void A_deep_sigmoid_network_is_diagnosed_with_vanishing_gradients_and_the_ReLU_He_BatchNorm_remedy_is_not()
    {
        TorchMlpTransformer Fit(Activation activation, InitScheme init, bool batchNorm)
        {
            var ml = new MLContext(1);
            return ml.Regression.Trainers.TorchMlp(new TorchMlpOptions
            {
                HiddenLayers = Enumerable.Repeat(32, 12).ToArray(), Activation = activation, Init = init, BatchNorm = batchNorm,
                Epochs = 4, Seed = 1, LearningRate = 1e-3,
            }).Fit(Synthetic.Regression(ml, 800));
        }

        var sick = Fit(Activation.Sigmoid, InitScheme.LeCunNormal, false);
        var vanishing = Assert.Single(sick.TrainingDiagnosis!.Findings, f => f.Kind == FindingKind.VanishingGradients);
        Assert.True(vanishing.Severity >= Severity.Warning, sick.TrainingDiagnosis.ToString());
        Assert.Contains("fc1", vanishing.Evidence.First());
        // The remedies speak the trainer's options: an ML.NET user never sees the network.
        Assert.Contains(vanishing.Remedies, r => r.Kind == RemedyKind.SwapToRelu && r.Detail.StartsWith("TorchMlpOptions.Activation = Activation.ReLU"));
        Assert.Contains(vanishing.Remedies, r => r.Kind == RemedyKind.BatchNorm && r.Detail.StartsWith("TorchMlpOptions.BatchNorm = true"));
        Assert.DoesNotContain(sick.TrainingDiagnosis.Findings.SelectMany(f => f.Remedies), r => r.Detail.Contains("Init.Apply(") || r.Detail.Contains("ActivationSwap") || r.Detail.Contains("monitor.Guard"));
        Assert.Equal(sick.TrainingDiagnosis.LastStep, sick.TrainingSteps[^1].Step);   // the steps it was computed from
        // The per-epoch history carries the same evidence: fc1's gradient is orders of magnitude below the output layer's.
        var last = sick.TrainingHistory[^1].LayerGradientNorms;
        Assert.True(last["fc1"] < 1e-3 * last["out"], $"fc1 {last["fc1"]:G3} vs out {last["out"]:G3}");

        var repaired = Fit(Activation.ReLU, InitScheme.HeNormal, true);
        Assert.DoesNotContain(repaired.TrainingDiagnosis!.Findings, f => f.Kind == FindingKind.VanishingGradients);
        // He and BatchNorm are in place: never recommended again.
        Assert.DoesNotContain(repaired.TrainingDiagnosis.Findings.SelectMany(f => f.Remedies), r => r.Kind is RemedyKind.HeInit or RemedyKind.BatchNorm);
        var healthy = repaired.TrainingHistory[^1].LayerGradientNorms;
        Assert.True(healthy["fc1"] > 1e-2 * healthy["out"], $"fc1 {healthy["fc1"]:G3} vs out {healthy["out"]:G3}");
    }

    [Fact]
    public void Clipping_bounds_every_applied_step_and_is_counted_per_epoch()
    {
        var ml = new MLContext(1);
        var model = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions
        {
            Clipping = Clip.GlobalNorm(0.1), Epochs = 2, BatchSize = 64, Seed = 1, Monitor = new MonitorOptions { HistoryLength = 100 },
        }).Fit(Synthetic.Regression(ml, 640));
        Assert.All(model.TrainingHistory, e => Assert.Equal(10, e.Steps));
        Assert.True(model.TrainingHistory.Sum(e => e.ClippedSteps) >= 15, string.Join("; ", model.TrainingHistory));
        Assert.All(model.TrainingHistory, e => Assert.True(e.MaxGradientNorm > 0.1)); // norms are reported before clipping
    }

    private sealed class Row
    {
        [VectorType(2)] public float[] Features = new float[2];
        public float Label;
    }

    [Fact]
    public void Steps_whose_loss_overflows_are_skipped_and_the_model_stays_finite()
    {
        // A feature of 1e30 is finite, but the squared error of its prediction overflows float to +∞: that batch's
        // gradients are non-finite and the guard skips its step (weights untouched), reporting it; the other rows train.
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, 256).Select(i => new Row { Features = new[] { i / 256f, i == 7 ? 1e30f : 1f }, Label = i / 256f }).ToArray();
        var model = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 2, Seed = 1, BatchSize = 32 }).Fit(ml.Data.LoadFromEnumerable(rows));
        var scores = model.Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float>("Score").ToArray();
        Assert.All(scores.Where((_, i) => i != 7), s => Assert.True(float.IsFinite(s)));
        Assert.Equal(16, model.TrainingHistory.Sum(e => e.Steps));
        Assert.All(model.TrainingHistory, e => Assert.Equal(1, e.SkippedSteps)); // the batch holding row 7, once per epoch
        Assert.True(model.TrainingDiagnosis!.Has(FindingKind.NonFiniteGradients), model.TrainingDiagnosis.ToString());
    }
}
