using GradientHooks.MLNet.Data;
using GradientHooks.MLNet.Scoring;
using GradientHooks.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace GradientHooks.MLNet;

/// <summary>
/// The TorchMlp trainer as an ML.NET estimator, made by the <see cref="TorchMlpCatalog"/> extensions
/// (<c>mlContext.Regression.Trainers.TorchMlp(...)</c> and the binary and multiclass ones). <see cref="Fit"/>
/// reads the feature and label columns once, trains as <see cref="TorchMlpOptions"/> describes, and returns a
/// <see cref="TorchMlpTransformer"/> with the scoring network, the per-epoch history and the diagnosis. It is an
/// ML.NET trainer (<see cref="ITrainerEstimator{TTransformer, TModel}"/> with <see cref="Info"/>).
/// </summary>
public sealed class TorchMlpEstimator : ITrainerEstimator<TorchMlpTransformer, TorchMlpModelParameters>
{
    private readonly TorchMlpOptions _options;

    internal TorchMlpEstimator(TorchMlpTask task, TorchMlpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Enum.IsDefined(task)) throw new ArgumentOutOfRangeException(nameof(task), task, "unknown TorchMlp task");
        Task = task;
        _options = options.Validated();
    }

    /// <summary>
    /// What the trainer needs, as ML.NET's trainers declare it: <c>NeedNormalization</c> true (like SDCA and L-BFGS it
    /// trains best on <c>NormalizeMinMax</c>/<c>NormalizeMeanVariance</c> output) and <c>WantCaching</c> true (ML.NET's
    /// usual value; TorchMlp itself reads the data once, in one cursor pass, so a cache only spares re-running the
    /// transforms when the same view is fitted again). ML.NET keeps <see cref="TrainerInfo"/>'s constructor internal,
    /// so the value is taken from a stock trainer with exactly these needs (SDCA).
    /// </summary>
    public TrainerInfo Info => SharedInfo;

    private static readonly TrainerInfo SharedInfo = new MLContext().Regression.Trainers.Sdca().Info;

    /// <summary>What this estimator learns.</summary>
    public TorchMlpTask Task { get; }

    /// <summary>Trains on <paramref name="input"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (message: column, type found, type expected).</exception>
    /// <exception cref="InvalidOperationException">No rows, a non-finite feature or regression label, or a missing class key; the message names column and row.</exception>
    public TorchMlpTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (featureCount, labelKey) = ColumnCheck.CheckForTraining(input.Schema, Task, _options.FeatureColumnName, _options.LabelColumnName);
        var classCount = labelKey is null ? 0 : (int)labelKey.Count;
        var data = TrainingData.Read(input, Task, _options.FeatureColumnName, _options.LabelColumnName, featureCount, (ulong)classCount);
        var result = TorchMlpTraining.Train(data, Task, classCount, _options);
        var keyValues = Task == TorchMlpTask.MulticlassClassification ? LabelKeyValues.From(input.Schema[_options.LabelColumnName]) : null;
        var fitted = new FittedNetwork(Task, _options.FeatureColumnName, result.Network, classCount, keyValues);
        return new TorchMlpTransformer(fitted, result.History, result.Diagnosis, result.Steps);
    }

    /// <summary>
    /// The schema after scoring, without training: the input columns plus <c>Score</c> (Single; for multiclass a
    /// vector of Single), and for classification <c>PredictedLabel</c> (Boolean; a key for multiclass) and, binary,
    /// <c>Probability</c> (Single).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (message: column, type found, type expected).</exception>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ColumnCheck.Check(inputSchema, Task, _options.FeatureColumnName, _options.LabelColumnName);
        var label = ColumnCheck.Find(inputSchema, _options.LabelColumnName)!.Value;
        DataViewType? names = null;
        foreach (var annotation in label.Annotations)
            if (annotation.Name == "KeyValues") names = annotation.ItemType;
        return ScoringMapping.OutputShape(Task, _options.FeatureColumnName, names, inputSchema, new MLContext());
    }
}
