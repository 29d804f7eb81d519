namespace GradientHooks.Diagnostics;

/// <summary>One problem found in the captured history, with the numbers behind it and what to do.</summary>
/// <param name="Kind">What it is about.</param>
/// <param name="Severity">How urgent.</param>
/// <param name="Summary">One sentence in plain words.</param>
/// <param name="Layers">The layers (or activation modules, or parameters) concerned.</param>
/// <param name="Evidence">The measurements the rule used, with their thresholds.</param>
/// <param name="Remedies">Fixes specific to the case, each with the call that applies it.</param>
public sealed record Finding(FindingKind Kind, Severity Severity, string Summary,
    IReadOnlyList<string> Layers, IReadOnlyList<string> Evidence, IReadOnlyList<Remedy> Remedies);
