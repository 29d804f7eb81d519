using System.ComponentModel;
using GradientHooks.MLNet.Persistence;
using Microsoft.ML.Transforms;

namespace GradientHooks.MLNet.Scoring;

/// <summary>
/// Lets ML.NET's stock loader find the TorchMlp scoring step in a saved model by its contract name. ML.NET's
/// custom-mapping format stores no state, so the mapping made here is a placeholder that
/// <see cref="TorchMlpModelOperations.LoadTorchMlp(Microsoft.ML.ModelOperationsCatalog, string, out Microsoft.ML.DataViewSchema)"/>
/// replaces with the network stored in the same file; loaded any other way it refuses with a message naming that method.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class TorchMlpRegressionFactory : CustomMappingFactory<TorchMlpFeaturesRow, TorchMlpRegressionRow>
{
    internal const string ContractName = "GradientHooks.TorchMlp.Regression";

    /// <inheritdoc />
    public override Action<TorchMlpFeaturesRow, TorchMlpRegressionRow> GetMapping() => LoadGate.Placeholder<TorchMlpFeaturesRow, TorchMlpRegressionRow>();
}

/// <summary>Binary-classification counterpart of <see cref="TorchMlpRegressionFactory"/>.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class TorchMlpBinaryFactory : CustomMappingFactory<TorchMlpFeaturesRow, TorchMlpBinaryRow>
{
    internal const string ContractName = "GradientHooks.TorchMlp.BinaryClassification";

    /// <inheritdoc />
    public override Action<TorchMlpFeaturesRow, TorchMlpBinaryRow> GetMapping() => LoadGate.Placeholder<TorchMlpFeaturesRow, TorchMlpBinaryRow>();
}

/// <summary>Multiclass counterpart of <see cref="TorchMlpRegressionFactory"/>.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(ContractName)]
public sealed class TorchMlpMulticlassFactory : CustomMappingFactory<TorchMlpFeaturesRow, TorchMlpMulticlassRow>
{
    internal const string ContractName = "GradientHooks.TorchMlp.MulticlassClassification";

    /// <inheritdoc />
    public override Action<TorchMlpFeaturesRow, TorchMlpMulticlassRow> GetMapping() => LoadGate.Placeholder<TorchMlpFeaturesRow, TorchMlpMulticlassRow>();
}
