using GradientHooks.Initialization;
using Microsoft.ML;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>Every bad option is refused when the estimator is made, naming the option and what it must be.</summary>
public sealed class OptionsValidationTests
{
    public static TheoryData<string, Action<TorchMlpOptions>> BadOptions => new()
    {
        { "LabelColumnName", o => o.LabelColumnName = "" },
        { "LabelColumnName", o => o.LabelColumnName = null! },
        { "FeatureColumnName", o => o.FeatureColumnName = " " },
        { "HiddenLayers", o => o.HiddenLayers = null! },
        { "HiddenLayers[1]", o => o.HiddenLayers = new[] { 8, 0 } },
        { "HiddenLayers[0]", o => o.HiddenLayers = new[] { -3 } },
        { "Activation", o => o.Activation = (Activation)99 },
        { "Init", o => o.Init = (InitScheme)99 },
        { "LearningRateSchedule", o => o.LearningRateSchedule = (LearningRateSchedule)7 },
        { "Epochs", o => o.Epochs = 0 },
        { "Epochs", o => o.Epochs = -1 },
        { "BatchSize", o => o.BatchSize = -1 },
        { "BatchSize", o => { o.BatchNorm = true; o.BatchSize = 1; } },
        { "LearningRate", o => o.LearningRate = -1e-3 },
        { "ValidationFraction", o => o.ValidationFraction = 0.6 },
        { "ValidationFraction", o => o.ValidationFraction = double.NaN },
        { "EarlyStoppingPatience", o => o.EarlyStoppingPatience = -1 },
        { "LearningRate", o => o.LearningRate = double.NaN },
        { "LearningRate", o => o.LearningRate = double.PositiveInfinity },
        { "WeightDecay", o => o.WeightDecay = -0.1 },
        { "WeightDecay", o => o.WeightDecay = double.NaN },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void A_bad_option_names_itself(string option, Action<TorchMlpOptions> spoil)
    {
        var options = new TorchMlpOptions();
        spoil(options);
        var ml = new MLContext();
        foreach (var make in new Func<TorchMlpEstimator>[]
                 {
                     () => ml.Regression.Trainers.TorchMlp(options),
                     () => ml.BinaryClassification.Trainers.TorchMlp(options),
                     () => ml.MulticlassClassification.Trainers.TorchMlp(options),
                 })
        {
            var error = Assert.Throws<ArgumentOutOfRangeException>(make);
            Assert.Equal(option, error.ParamName);
            Assert.Contains($"TorchMlpOptions.{option} must be", error.Message);
        }
    }

    [Fact]
    public void Null_options_and_null_data_are_refused_by_name()
    {
        var ml = new MLContext();
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => ml.Regression.Trainers.TorchMlp((TorchMlpOptions)null!)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentNullException>(() => ml.Regression.Trainers.TorchMlp().Fit(null!)).ParamName);
        Assert.Equal("inputSchema", Assert.Throws<ArgumentNullException>(() => ml.Regression.Trainers.TorchMlp().GetOutputSchema(null!)).ParamName);
    }

    [Fact]
    public void Options_are_copied_so_a_later_change_does_not_alter_a_made_estimator()
    {
        var ml = new MLContext(1);
        var options = new TorchMlpOptions { HiddenLayers = new[] { 8 }, Epochs = 1, Seed = 1 };
        var estimator = ml.Regression.Trainers.TorchMlp(options);
        options.HiddenLayers[0] = 0;
        options.Epochs = -5;
        var model = estimator.Fit(Synthetic.Regression(ml, 64));
        Assert.Equal(new[] { 4, 8, 1 }, model.LayerSizes);
        Assert.Single(model.TrainingHistory);
    }
}
