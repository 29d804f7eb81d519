using Microsoft.ML;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>
/// TorchMlp's numbers for its remedies: <see cref="TorchMlpOptions.FindLearningRate"/> runs a range test on the training
/// rows and fits at its suggestion; <see cref="TorchMlpOptions.TrackNoiseScale"/> records the gradient noise scale.
/// </summary>
public sealed class RangeTestAndNoiseScaleTests
{
    [Fact]
    public void FindLearningRate_fits_at_the_range_tests_suggestion_and_keeps_the_sweep()
    {
        var ml = new MLContext(1);
        var data = Synthetic.Regression(ml, 640);
        var model = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 3, Seed = 1, LearningRate = TorchMlpOptions.FindLearningRate, LearningRateSchedule = LearningRateSchedule.Constant }).Fit(data);
        var sweep = Assert.IsType<LearningRateSweep>(model.LearningRateSweep);
        Assert.NotNull(sweep.Suggested);
        Assert.All(model.TrainingHistory, e => Assert.Equal(sweep.Suggested!.Value, e.LearningRate, 12));
        Assert.True(model.TrainingHistory[^1].Loss < model.TrainingHistory[0].Loss, "it learns at the rate found");
        // Without the option there is no sweep.
        var plain = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 1, Seed = 1 }).Fit(data);
        Assert.Null(plain.LearningRateSweep);
    }

    [Fact]
    public void A_negative_rate_other_than_FindLearningRate_is_refused_naming_the_option()
    {
        var ml = new MLContext(1);
        var error = Assert.ThrowsAny<ArgumentException>(() => ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { LearningRate = -0.5 }).Fit(Synthetic.Regression(ml, 64)));
        Assert.Contains("LearningRate", error.Message);
        Assert.Contains("FindLearningRate", error.Message);
    }

    [Fact]
    public void TrackNoiseScale_records_the_noise_scale_of_each_step_against_the_batch()
    {
        var ml = new MLContext(1);
        var model = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 3, Seed = 1, BatchSize = 64, TrackNoiseScale = true }).Fit(Synthetic.Regression(ml, 640));
        var measured = model.TrainingSteps.Where(r => r.MicroBatches is not null).ToList();
        Assert.NotEmpty(measured);
        Assert.All(measured, r => { Assert.Equal(2, r.MicroBatches); Assert.Equal(64, r.BatchExamples); });
        Assert.Contains(measured, r => r.NoiseScale is > 0);
    }
}
