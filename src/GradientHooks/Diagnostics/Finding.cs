namespace GradientHooks.Diagnostics;

/// <summary>One problem found in the captured history, with the numbers behind it and what to do.</summary>
/// <param name="Kind">What it is about.</param>
/// <param name="Severity">How urgent.</param>
/// <param name="Summary">One sentence in plain words.</param>
/// <param name="Layers">The layers (or activation modules, or parameters) concerned.</param>
/// <param name="Evidence">The measurements the rule used, with their thresholds.</param>
/// <param name="Remedies">Fixes specific to the case, each with the call that applies it.</param>
public sealed record Finding(FindingKind Kind, Severity Severity, string Summary,
    IReadOnlyList<string> Layers, IReadOnlyList<string> Evidence, IReadOnlyList<Remedy> Remedies)
{
    /// <summary>
    /// The step at which this finding's evidence began (the first harmful spike, the first step with NaN/Inf, the first
    /// step with vanishing ratios or dead units, ...); null when the rule cannot date it.
    /// </summary>
    public long? Since { get; init; }

    /// <summary>
    /// The kind of the finding this one follows from, when another finding of this diagnosis began no later and is a
    /// known cause of it (an explosion before saturation and vanishing, dead units before a flat loss, gradients never
    /// zeroed before an explosion); null for a root cause. Fix the cause first: its remedies come first.
    /// </summary>
    public FindingKind? Cause { get; init; }
}
