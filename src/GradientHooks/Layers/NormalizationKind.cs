namespace GradientHooks.Layers;

/// <summary>Which normalisation <see cref="Normalization.InsertBatchNorm(TorchSharp.Modules.Sequential, NormalizationKind)"/> inserts.</summary>
public enum NormalizationKind
{
    /// <summary><c>BatchNorm1d(out_features)</c>: normalises each feature over the batch (Ioffe &amp; Szegedy 2015); uses running statistics in <c>eval()</c>.</summary>
    BatchNorm,
    /// <summary><c>LayerNorm(out_features)</c>: normalises each example over its features (Ba et al. 2016); for recurrent models and small batches.</summary>
    LayerNorm,
}
