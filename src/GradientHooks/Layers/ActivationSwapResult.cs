using GradientHooks.Initialization;
using TorchSharp;

namespace GradientHooks.Layers;

/// <summary>What <see cref="ActivationSwap.Replace(torch.nn.Module, Activation, Activation)"/> changed in a model, and what it could not reach.</summary>
/// <param name="Model">The model, changed in place (the same object that was passed).</param>
/// <param name="Replaced">Every activation module replaced, with where it was held.</param>
/// <param name="Unreachable">
/// Activations of the kind that were not replaced, each with the reason and what to write instead: functional calls
/// found in a <c>forward()</c> (<c>functional.relu(x)</c>), and modules held in a field whose type cannot hold the
/// replacement (a field declared as <c>ReLU</c> rather than <c>Module&lt;Tensor, Tensor&gt;</c>).
/// </param>
public sealed record ActivationSwapResult(torch.nn.Module Model, IReadOnlyList<ActivationChange> Replaced, IReadOnlyList<string> Unreachable);

/// <summary>One replaced activation module.</summary>
/// <param name="Path">Module path, e.g. <c>relu1</c> or <c>blocks.2.act</c>.</param>
/// <param name="From">Type replaced, e.g. <c>ReLU</c>.</param>
/// <param name="To">Type put in its place, e.g. <c>LeakyReLU</c>.</param>
/// <param name="HeldBy">Where the model held it: <c>field relu1</c>, <c>ModuleList index 2</c>, <c>ModuleDict key "act"</c>, <c>Sequential child "1"</c>.</param>
public sealed record ActivationChange(string Path, string From, string To, string HeldBy);
