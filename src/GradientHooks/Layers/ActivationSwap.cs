using GradientHooks.Initialization;
using GradientHooks.Internal;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Layers;

/// <summary>
/// Activation swaps: the seed's second remedy. Sigmoid's derivative is at most 1/4 and tanh's at most 1, and both
/// vanish in saturation, so a deep stack multiplies the backward signal by many small factors. ReLU, LeakyReLU,
/// ELU, SELU and GELU have derivative 1 (or close) for positive inputs.
/// (Named ActivationSwap because <c>torch.nn.Activations</c> already exists.)
/// </summary>
public static class ActivationSwap
{
    /// <summary>
    /// Returns a new Sequential in which every activation module computing <paramref name="from"/> is replaced by a
    /// new module computing <paramref name="to"/> (same name, same place; nested Sequentials handled). Every other
    /// module, and so every weight, is shared with <paramref name="model"/>. <c>ReLU6</c> counts as ReLU. After a
    /// swap, re-initialise for the new activation (<see cref="Init.Apply"/>), e.g. He for ReLU.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="from"/> is <see cref="Activation.Linear"/>: there is no module to replace.</exception>
    public static Sequential Replace(Sequential model, Activation from, Activation to)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (from == Activation.Linear)
            throw new ArgumentException("ActivationSwap.Replace: 'from' must be an activation module type; Linear (identity) has no module to replace.", nameof(from));
        return SequentialRewriter.Rewrite(model, (name, module, next) =>
        {
            bool match = ActivationModules.Classify(module, out _) == from;
            return new[] { (name, match ? ActivationModules.Create(to) : module) };
        });
    }

    /// <summary>Same as <see cref="Replace(Sequential, Activation, Activation)"/> for a model typed as <c>Module</c>.</summary>
    /// <exception cref="ArgumentException">The model is not a Sequential: the message says which containers are supported.</exception>
    public static Sequential Replace(nn.Module model, Activation from, Activation to) =>
        model is Sequential s ? Replace(s, from, to) : throw SequentialRewriter.NotSequential(model, "ActivationSwap.Replace");
}
