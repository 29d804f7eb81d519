using GradientHooks.Samples;
using GradientHooks.MLNet;
using Microsoft.ML;

namespace MLNetPipeline.Comparison;

/// <summary>
/// One data set of the comparison: its train and test views, the featurization every trainer shares, the label
/// column the trainers read, the TorchMlp options, and ML.NET's own trainers to compare with.
/// </summary>
public sealed record ComparisonSet(
    string Name,
    TorchMlpTask Task,
    IDataView Train,
    IDataView Test,
    IEstimator<ITransformer> Featurize,
    string Label,
    TorchMlpOptions TorchMlp,
    IReadOnlyList<(string Name, IEstimator<ITransformer> Trainer)> Baselines);
