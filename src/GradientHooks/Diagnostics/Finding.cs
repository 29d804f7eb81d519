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

    /// <summary>
    /// A short headline for lists and progress lines, in words: "exploding gradients" for a problem, and for
    /// information a name that does not alarm ("gradient spikes absorbed", "some dead units", "inputs on a raw scale").
    /// </summary>
    public string Title => Severity == Severity.Info ? InfoTitle(Kind) : ProblemTitle(Kind);

    private static string ProblemTitle(FindingKind kind) => kind switch
    {
        FindingKind.VanishingGradients => "vanishing gradients",
        FindingKind.ExplodingGradients => "exploding gradients",
        FindingKind.NonFiniteGradients => "NaN/Inf gradients",
        FindingKind.DyingRelu => "dying ReLU",
        FindingKind.SaturatedActivations => "saturated activations",
        FindingKind.LossPlateau => "flat loss",
        FindingKind.LossOscillation => "oscillating or rising loss",
        FindingKind.TrainingRolledBack => "training rolled back",
        FindingKind.GradientsNotZeroed => "gradients never zeroed",
        FindingKind.UnscaledInputs => "unscaled inputs",
        FindingKind.LearningRateTooHigh => "learning rate too high",
        FindingKind.LearningRateTooLow => "learning rate too low",
        FindingKind.GradientUnderflow => "gradient underflow",
        FindingKind.LowPrecisionOptimizer => "optimizer stepping float16 weights",
        FindingKind.LossScaleCollapse => "loss scale keeps falling",
        _ => InfoTitle(kind),
    };

    private static string InfoTitle(FindingKind kind) => kind switch
    {
        FindingKind.ExplodingGradients => "gradient spikes absorbed",
        FindingKind.DyingRelu => "some dead units",
        FindingKind.UnscaledInputs => "inputs on a raw scale",
        FindingKind.LearningRateTooHigh => "large first updates, recovered",
        FindingKind.NotEnoughData => "not enough data yet",
        FindingKind.ActivationsNotObserved => "activations not observed",
        FindingKind.LayerOrderUnknown => "layer order from declaration",
        FindingKind.UnusedLayers => "layers without gradient",
        FindingKind.LossScaleCollapse => "loss scale overflows, recovered",
        FindingKind.GradientUnderflow => "some gradients underflow",
        _ => ProblemTitle(kind) + " (a note)",
    };
}
