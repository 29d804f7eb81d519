namespace GradientHooks.Diagnostics;

/// <summary>A fix for a finding: a title and the exact GradientHooks (or TorchSharp) call that applies it.</summary>
/// <param name="Title">Short name, e.g. "He initialization".</param>
/// <param name="Detail">Why it helps and the call, e.g. <c>Init.Apply(model, InitScheme.HeNormal)</c>.</param>
public sealed record Remedy(string Title, string Detail)
{
    /// <summary>Which fix this is, so that a host wrapping the model (such as the ML.NET trainer) can restate it in its own options.</summary>
    public RemedyKind Kind { get; init; }

    /// <summary>
    /// For a learning-rate remedy, the factor it names (divide by it to lower, multiply to raise), measured from the
    /// update ratios; null when the remedy names no number.
    /// </summary>
    public double? Factor { get; init; }

    /// <summary>For a learning-rate remedy from a range test: the rate to set (<see cref="LearningRateSweep.Suggested"/>); null otherwise.</summary>
    public double? Rate { get; init; }

    /// <summary>For a batch-size remedy: the examples per step to train with (near the gradient noise scale); null otherwise.</summary>
    public long? Examples { get; init; }

    /// <summary>For an activation swap, the activation it replaces (the one the model has); null otherwise.</summary>
    public Initialization.Activation? From { get; init; }

    /// <summary>For an activation swap, the activation it puts in its place; null otherwise.</summary>
    public Initialization.Activation? To { get; init; }
}
