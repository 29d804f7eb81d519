using GradientHooks.Internal;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Layers;

/// <summary>
/// Normalisation insertion: the seed's third remedy for vanishing and exploding gradients. Normalising each
/// Linear layer's output keeps the pre-activations near zero mean and unit variance, where sigmoid and tanh do
/// not saturate and the backward gain of each layer stays near one.
/// </summary>
public static class Normalization
{
    /// <summary>
    /// Returns a new Sequential with a <c>BatchNorm1d</c> (or <c>LayerNorm</c>) after every Linear that feeds an
    /// activation (directly, or through dropout), before the activation, named after the Linear:
    /// <c>fc1</c> → <c>fc1</c>, <c>fc1_bn</c>. Every existing module, and so every weight, is shared with
    /// <paramref name="model"/>, not copied: train the returned model and dispose only one of the two. A Linear
    /// already followed by a normalisation layer is left as is. Nested Sequentials are handled; the new layers are
    /// created on the Linear's device and dtype, and the result keeps the model's train/eval mode.
    /// </summary>
    public static Sequential InsertBatchNorm(Sequential model, NormalizationKind kind = NormalizationKind.BatchNorm)
    {
        ArgumentNullException.ThrowIfNull(model);
        return SequentialRewriter.Rewrite(model, (name, module, next) =>
        {
            var kept = new List<(string, nn.Module<Tensor, Tensor>)> { (name, module) };
            if (module is Linear linear && next is not null && FeedsActivation(next))
                kept.Add((name + "_bn", Create(linear, kind)));
            return kept;
        });
    }

    /// <summary>Same as <see cref="InsertBatchNorm(Sequential, NormalizationKind)"/> for a model typed as <c>Module</c>.</summary>
    /// <exception cref="ArgumentException">The model is not a Sequential: the message says which containers are supported.</exception>
    public static Sequential InsertBatchNorm(nn.Module model, NormalizationKind kind = NormalizationKind.BatchNorm) =>
        model is Sequential s ? InsertBatchNorm(s, kind) : throw SequentialRewriter.NotSequential(model, "Normalization.InsertBatchNorm");

    private static bool FeedsActivation(nn.Module next) =>
        ActivationModules.Classify(next, out _) is not null || next is Dropout or AlphaDropout;

    private static nn.Module<Tensor, Tensor> Create(Linear linear, NormalizationKind kind)
    {
        var w = linear.weight!;
        return kind == NormalizationKind.LayerNorm
            ? nn.LayerNorm(linear.out_features, device: w.device, dtype: w.dtype)
            : nn.BatchNorm1d(linear.out_features, device: w.device, dtype: w.dtype);
    }
}
