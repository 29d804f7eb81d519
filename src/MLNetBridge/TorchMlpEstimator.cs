using GradientHooks.MLNet.Data;
using GradientHooks.MLNet.Scoring;
using GradientHooks.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace GradientHooks.MLNet;

/// <summary>
/// The TorchMlp trainer as an ML.NET estimator, made by the <see cref="TorchMlpCatalog"/> extensions
/// (<c>mlContext.Regression.Trainers.TorchMlp(...)</c> and the binary and multiclass ones). <see cref="Fit(IDataView)"/>
/// reads the feature and label columns once, trains as <see cref="TorchMlpOptions"/> describes, and returns a
/// <see cref="TorchMlpTransformer"/> with the scoring network, the per-epoch history and the diagnosis. It is an
/// ML.NET trainer (<see cref="ITrainerEstimator{TTransformer, TModel}"/> with <see cref="Info"/>);
/// <see cref="Fit(IDataView, IDataView)"/> takes a validation set as FastTree's does.
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
        return Train(input, null);
    }

    /// <summary>
    /// Trains on <paramref name="trainData"/> and measures the loss on <paramref name="validationData"/> after every
    /// epoch, as FastTree's and LightGBM's <c>Fit(trainData, validationData)</c> do: every training row trains, the
    /// validation rows give <see cref="TorchMlpEpoch.ValidationLoss"/>, training stops early by
    /// <see cref="TorchMlpOptions.EarlyStoppingPatience"/> (0: every epoch) and the best epoch's network is the one
    /// returned. The validation data must be featurised like the training data (same feature and label columns, same
    /// vector size, for multiclass the same key type). <see cref="TorchMlpOptions.ValidationFraction"/> must then be 0.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column of either data view is missing or has the wrong type, or the validation data's feature size or label key count differs from the training data's (parameter <c>validationData</c>).</exception>
    /// <exception cref="ArgumentException"><see cref="TorchMlpOptions.ValidationFraction"/> is not 0.</exception>
    /// <exception cref="InvalidOperationException">No rows, a non-finite feature or regression label, or a missing class key in either data view; the message names the data, column and row.</exception>
    public TorchMlpTransformer Fit(IDataView trainData, IDataView validationData)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentNullException.ThrowIfNull(validationData);
        if (_options.ValidationFraction != 0)
            throw new ArgumentException(
                $"TorchMlpOptions.ValidationFraction must be 0 when a validation set is passed to Fit; it was {_options.ValidationFraction}. " +
                "Use either the validation set or a held-out fraction of the training data.", nameof(validationData));
        return Train(trainData, validationData);
    }

    private TorchMlpTransformer Train(IDataView input, IDataView? validationData)
    {
        var (featureCount, labelKey) = ColumnCheck.CheckForTraining(input.Schema, Task, _options.FeatureColumnName, _options.LabelColumnName);
        var classCount = labelKey is null ? 0 : (int)labelKey.Count;
        var validation = validationData is null ? null : ReadValidation(validationData, featureCount, labelKey);
        var data = TrainingData.Read(input, Task, _options.FeatureColumnName, _options.LabelColumnName, featureCount, (ulong)classCount);
        var result = TorchMlpTraining.Train(data, Task, classCount, _options, validation);
        var keyValues = Task == TorchMlpTask.MulticlassClassification ? LabelKeyValues.From(input.Schema[_options.LabelColumnName]) : null;
        var fitted = new FittedNetwork(Task, _options.FeatureColumnName, result.Network, classCount, keyValues);
        return new TorchMlpTransformer(fitted, result.History, result.Diagnosis, result.Steps) { LearningRateSweep = result.RangeTest };
    }

    /// <summary>The validation rows, checked against the training data's feature size and label key count.</summary>
    private TrainingData ReadValidation(IDataView validationData, int featureCount, KeyDataViewType? labelKey)
    {
        int validFeatures;
        KeyDataViewType? validKey;
        try
        {
            (validFeatures, validKey) = ColumnCheck.CheckForTraining(validationData.Schema, Task, _options.FeatureColumnName, _options.LabelColumnName);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentOutOfRangeException(nameof(validationData), $"The validation data does not fit the trainer: {e.Message}");
        }
        if (validFeatures != featureCount)
            throw new ArgumentOutOfRangeException(nameof(validationData),
                $"The validation data's feature column '{_options.FeatureColumnName}' has {validFeatures} slots; the training data's has {featureCount}. Featurise both with the same fitted transforms (e.g. featurizer.Transform(validationData)).");
        if (labelKey is not null && validKey!.Count != labelKey.Count)
            throw new ArgumentOutOfRangeException(nameof(validationData),
                $"The validation data's label column '{_options.LabelColumnName}' has {validKey.Count} classes; the training data's has {labelKey.Count}. Map both labels with the same fitted MapValueToKey.");
        try
        {
            return TrainingData.Read(validationData, Task, _options.FeatureColumnName, _options.LabelColumnName, featureCount, labelKey?.Count ?? 0, role: "validation");
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"In the validation data: {e.Message}", e);
        }
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
