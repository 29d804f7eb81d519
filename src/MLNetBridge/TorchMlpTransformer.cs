using GradientHooks.Diagnostics;
using GradientHooks.MLNet.Data;
using GradientHooks.MLNet.Persistence;
using GradientHooks.MLNet.Scoring;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.MLNet;

/// <summary>
/// A fitted TorchMlp: scores rows with the trained network (in managed code, libtorch not needed) and carries what
/// training saw: <see cref="TrainingDiagnosis"/> and <see cref="TrainingHistory"/>. Output columns follow ML.NET's
/// conventions for <see cref="Task"/>, so <c>mlContext.*.Evaluate</c> and <c>CreatePredictionEngine</c> work on it.
/// Save it with <see cref="TorchMlpModelOperations.SaveTorchMlp(ModelOperationsCatalog, ITransformer, DataViewSchema, string)"/>
/// (ML.NET's <c>Model.Save</c> cannot store the network and says so). It is an ML.NET prediction transformer
/// (<see cref="ISingleFeaturePredictionTransformer{TModel}"/>), so <c>PermutationFeatureImportance</c> and code written
/// against trainers take it.
/// </summary>
public sealed class TorchMlpTransformer : ISingleFeaturePredictionTransformer<TorchMlpModelParameters>
{
    private readonly ITransformer _mapping;

    internal TorchMlpTransformer(FittedNetwork fitted, IReadOnlyList<TorchMlpEpoch> history, Diagnosis? diagnosis, IReadOnlyList<StepRecord> steps)
    {
        TrainingSteps = steps;
        Fitted = fitted;
        TrainingHistory = history;
        TrainingDiagnosis = diagnosis;
        _mapping = ScoringMapping.Create(fitted, new MLContext());
        Model = new TorchMlpModelParameters(fitted);
    }

    /// <summary>The trained network (ML.NET's <c>IPredictionTransformer&lt;TModel&gt;.Model</c>).</summary>
    public TorchMlpModelParameters Model { get; }

    /// <summary>The feature column's type: <c>Vector&lt;Single, FeatureCount&gt;</c>.</summary>
    public DataViewType FeatureColumnType => new VectorDataViewType(NumberDataViewType.Single, FeatureCount);

    internal FittedNetwork Fitted { get; }

    /// <summary>Regression, binary or multiclass classification.</summary>
    public TorchMlpTask Task => Fitted.Task;

    /// <summary>The feature column read at scoring time.</summary>
    public string FeatureColumnName => Fitted.FeatureColumnName;

    /// <summary>Length of the feature vector the network takes.</summary>
    public int FeatureCount => Fitted.Network.FeatureCount;

    /// <summary>Number of classes (multiclass), else 0.</summary>
    public int ClassCount => Fitted.ClassCount;

    /// <summary>Widths of the network's layers, input first: features, hidden widths, outputs.</summary>
    public IReadOnlyList<int> LayerSizes => Fitted.Network.Layers.Select(l => l.Inputs).Append(Fitted.Network.OutputCount).ToArray();

    /// <summary>The diagnosis of the gradients and loss over the last steps of training (up to the monitor's
    /// history length); null for a model loaded from a file (diagnostics are not saved).</summary>
    public Diagnosis? TrainingDiagnosis { get; }

    /// <summary>One entry per epoch: loss, gradient norms per layer, clipped and skipped steps, diagnosis so far. Empty for a loaded model.</summary>
    public IReadOnlyList<TorchMlpEpoch> TrainingHistory { get; }

    /// <summary>
    /// The learning-rate range test run on the training data before the fit when
    /// <see cref="TorchMlpOptions.LearningRate"/> was <see cref="TorchMlpOptions.FindLearningRate"/> (its
    /// <see cref="GradientHooks.LearningRateSweep.Suggested"/> rate is the one the fit used); null otherwise and for a loaded model.
    /// </summary>
    public LearningRateSweep? LearningRateSweep { get; internal init; }

    /// <summary>
    /// The monitor's captured steps of the fit (the last <see cref="MonitorOptions.HistoryLength"/> fully captured
    /// steps and every step with NaN/Inf), oldest first: what <see cref="TrainingDiagnosis"/> was computed from, ready
    /// for <c>GradientCharts</c> or a sink. Empty for a loaded model (not saved).
    /// </summary>
    public IReadOnlyList<StepRecord> TrainingSteps { get; }

    /// <summary>Always true: scoring is row to row.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus the output columns; the feature column must be <c>Vector&lt;Single, FeatureCount&gt;</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The feature column is missing or of another type; the message names both types.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ColumnCheck.CheckFeatures(inputSchema, FeatureColumnName, FeatureCount);
        return _mapping.GetOutputSchema(inputSchema);
    }

    /// <summary>Lazily adds the output columns to <paramref name="input"/>; rows are scored as they are read.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ColumnCheck.CheckFeatures(input.Schema, FeatureColumnName, FeatureCount);
        return _mapping.Transform(input);
    }

    /// <summary>The row mapper used by prediction engines.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        ColumnCheck.CheckFeatures(inputSchema, FeatureColumnName, FeatureCount);
        return _mapping.GetRowToRowMapper(inputSchema);
    }

    /// <summary>Called by ML.NET's saver: allowed only inside <c>SaveTorchMlp</c>, which stores the network next to ML.NET's entries.</summary>
    /// <exception cref="InvalidOperationException">Called by a plain <c>mlContext.Model.Save</c>; the message names the method to use.</exception>
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        var sink = LoadGate.Saving ?? throw new InvalidOperationException(LoadGate.Advice);
        sink.Add(this);
        _mapping.Save(ctx);
    }
}
