using GradientHooks.ModelReading;
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
    /// <exception cref="ArgumentException">
    /// The model is not a Sequential. Where a normalisation layer goes in a custom module is decided by its
    /// <c>forward()</c>, which no rewrite can change; the message lists the fields to add for its Linear/Conv layers
    /// and the line to write in <c>forward()</c>. The model is not changed.
    /// </exception>
    public static Sequential InsertBatchNorm(nn.Module model, NormalizationKind kind = NormalizationKind.BatchNorm)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model is Sequential s ? InsertBatchNorm(s, kind) : throw CustomModule(model, kind);
    }

    private static ArgumentException CustomModule(nn.Module model, NormalizationKind kind)
    {
        var layers = model.named_modules().Where(m => m.module is Linear or Conv1d or Conv2d or Conv3d).ToList();
        var hidden = layers.Take(Math.Max(0, layers.Count - 1)).ToList();
        string Norm(nn.Module m) => kind == NormalizationKind.LayerNorm
            ? $"LayerNorm({OutOf(m)})"
            : m switch { Conv2d => "BatchNorm2d", Conv3d => "BatchNorm3d", _ => "BatchNorm1d" } + $"({OutOf(m)})";
        var fields = hidden.Count == 0 ? "a normalisation layer after each hidden Linear/Conv layer"
            : string.Join(", ", hidden.Select((l, i) => $"private readonly Module<Tensor, Tensor> bn{i + 1} = {Norm(l.module)};   // after {l.name}"));
        var example = hidden.Count == 0 ? "act(bn1.forward(layer.forward(x)))" : $"act(bn1.forward({hidden[0].name}.forward(x)))";
        return new ArgumentException(
            $"Normalization.InsertBatchNorm rewrites torch.nn.Sequential models only; {model.GetType().Name} is a custom module whose forward() decides the order of its layers, so no rewrite can place the new layers. " +
            $"Add the fields {fields} (RegisterComponents registers them), and in forward() call each between its layer and the activation: {example}. The model was not changed.",
            nameof(model));
    }

    private static long OutOf(nn.Module m) => m switch
    {
        Linear l => l.out_features,
        Conv1d c => c.weight!.shape[0],
        Conv2d c => c.weight!.shape[0],
        Conv3d c => c.weight!.shape[0],
        _ => 0,
    };

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
