namespace GradientHooks.Diagnostics;

/// <summary>A fix for a finding: a title and the exact GradientHooks (or TorchSharp) call that applies it.</summary>
/// <param name="Title">Short name, e.g. "He initialization".</param>
/// <param name="Detail">Why it helps and the call, e.g. <c>Init.Apply(model, InitScheme.HeNormal)</c>.</param>
public sealed record Remedy(string Title, string Detail);
