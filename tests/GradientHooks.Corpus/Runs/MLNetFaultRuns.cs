using GradientHooks.Corpus.Data;
using GradientHooks.Diagnostics;
using GradientHooks.Initialization;
using GradientHooks.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.Corpus.Runs;

/// <summary>ML.NET pipelines with the TorchMlp trainer, broken the way ML.NET users break them.</summary>
public static class MLNetFaultRuns
{
    /// <summary>
    /// The taxi-fare pipeline with <c>LearningRate = 0.5</c> (Adam's 1e-3 times 500): from the first step each update moves
    /// the weights by about a quarter of their size; the loss blows up from 21 to 227 and most ReLU units of both hidden
    /// layers end below zero for every row, where they stay. Root cause: the learning rate; dead units follow.
    /// </summary>
    public static CorpusRun TaxiFareLearningRate() => new("taxi-fare-lr0.5", "taxi-fare-train.csv (100,000 trips)", "ML.NET: taxi-fare pipeline + TorchMlp 64-64",
        "TorchMlp defaults but LearningRate = 0.5", FindingKind.LearningRateTooHigh, new[] { "fc1", "fc2" },
        new[] { FindingKind.ExplodingGradients, FindingKind.LossPlateau }, new[] { "taxi-fare-train.csv" }, () =>
        {
            var ml = new MLContext(seed: 1);
            var (train, testSet, featurize) = MLNetRuns.TaxiFareData(ml, normalize: true);
            var pipeline = featurize.Append(ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { LearningRate = 0.5, Seed = 1 }));
            return MLNetRuns.Fit(ml, pipeline, ml.Data.Cache(train), testSet,
                (model, test) => FormattableString.Invariant($"R² {ml.Regression.Evaluate(model.Transform(test)).RSquared:0.000}"));
        }) { Also = new[] { FindingKind.DyingRelu } };

    /// <summary>
    /// A ten-layer sigmoid network through the ML.NET trainer on optdigits: each sigmoid passes back at most a quarter of
    /// its gradient, and the first layers' gradients end up 10⁴ times smaller than the output layer's.
    /// </summary>
    public static CorpusRun OptDigitsDeepSigmoid() => new("optdigits-mlnet-deep-sigmoid", "optdigits", "ML.NET: NormalizeMinMax + TorchMlp 10 × 32 sigmoid",
        "TorchMlp defaults but Activation = Sigmoid and 10 hidden layers of 32", FindingKind.VanishingGradients, new[] { "fc1", "fc2" }, new[] { FindingKind.LossPlateau }, new[] { "optdigits-train.csv", "optdigits-test.csv" }, () =>
        {
            var ml = new MLContext(seed: 1);
            IDataView Load(string file) => ml.Data.LoadFromTextFile(SharedData.PathOf(file), new[]
            {
                new TextLoader.Column("Pixels", DataKind.Single, 0, 63), new TextLoader.Column("Digit", DataKind.Single, 64),
            }, separatorChar: ',', hasHeader: false);
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Digit")
                .Append(ml.Transforms.NormalizeMinMax("Features", "Pixels"))
                .Append(ml.MulticlassClassification.Trainers.TorchMlp(new TorchMlpOptions { HiddenLayers = Enumerable.Repeat(32, 10).ToArray(), Activation = Activation.Sigmoid, Seed = 1 }));
            return MLNetRuns.Fit(ml, pipeline, ml.Data.Cache(Load("optdigits-train.csv")), Load("optdigits-test.csv"),
                (model, test) => FormattableString.Invariant($"accuracy {ml.MulticlassClassification.Evaluate(model.Transform(test)).MacroAccuracy:0.000}"));
        });
}
