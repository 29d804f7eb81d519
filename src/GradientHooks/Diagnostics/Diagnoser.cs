using GradientHooks.Diagnostics.Rules;

namespace GradientHooks.Diagnostics;

/// <summary>Runs every rule over a history of step records.</summary>
public static class Diagnoser
{
    /// <summary>Rules worth running from the first steps on: NaN, growth that ended in NaN, rollbacks, a float16 optimizer, the loss scale.</summary>
    private static readonly IDiagnosticRule[] AlwaysRules = { new NonFiniteRule(), new ExplodingRule(), new RollbackRule(), new LowPrecisionOptimizerRule(), new LossScaleRule() };

    /// <summary>Statistical rules that need at least <see cref="DiagnosticThresholds.MinSteps"/> full steps.</summary>
    private static readonly IDiagnosticRule[] WindowRules =
    {
        new GradientsNotZeroedRule(), new UnscaledInputsRule(), new GradientUnderflowRule(), new LearningRateRule(), new VanishingRule(), new DyingReluRule(),
        new SaturationRule(), new LossRule(), new HookCoverageRule(), new ModelReadingRule(), new NoiseScaleRule(),
    };

    /// <summary>Diagnoses <paramref name="history"/> (oldest first) with <paramref name="thresholds"/> (defaults when null).</summary>
    /// <returns>A diagnosis; with fewer than <see cref="DiagnosticThresholds.MinSteps"/> full steps it says there is not enough data (never "healthy").</returns>
    public static Diagnosis Diagnose(IReadOnlyList<StepRecord> history, DiagnosticThresholds? thresholds = null) => Diagnose(history, thresholds, null);

    /// <summary>
    /// Diagnoses <paramref name="history"/> knowing the model's <paramref name="profile"/> (see
    /// <see cref="GradientMonitor.Profile"/>): hooks that never fired are reported, and remedies fit the model (nothing
    /// already applied, calls that work on it). Without a profile the remedies are the general ones.
    /// </summary>
    public static Diagnosis Diagnose(IReadOnlyList<StepRecord> history, DiagnosticThresholds? thresholds, ModelProfile? profile)
    {
        ArgumentNullException.ThrowIfNull(history);
        thresholds ??= new DiagnosticThresholds();
        thresholds.Validate();
        var context = new DiagnosisContext(history, thresholds, profile);
        var findings = new List<Finding>();
        foreach (var rule in AlwaysRules) findings.AddRange(rule.Evaluate(context));
        bool enough = context.Window.Count >= thresholds.MinSteps;
        if (!enough)
            findings.Add(new Finding(FindingKind.NotEnoughData, Severity.Info,
                $"Not enough data yet: {context.Window.Count} fully captured step(s), the rules need {thresholds.MinSteps}.",
                Array.Empty<string>(), new[] { $"{history.Count} step(s) in the history, {context.Window.Count} with full statistics" }, Array.Empty<Remedy>()));
        else
            foreach (var rule in WindowRules) findings.AddRange(rule.Evaluate(context));
        findings = CausalOrder.Arrange(Reconcile(findings));
        return new Diagnosis(findings, context.Layers, enough, context.Window.Count,
            context.Window.Count > 0 ? context.Window[0].Step : 0, context.Window.Count > 0 ? context.Window[^1].Step : 0);
    }

    /// <summary>
    /// Keeps one diagnosis consistent: units that look dead only because their gradients underflowed are left to the
    /// underflow finding; when a problem calls for a lower learning rate (exploding, dying units, oscillation), no
    /// other finding may recommend raising it.
    /// </summary>
    private static List<Finding> Reconcile(List<Finding> findings)
    {
        // Units whose gradient rows are zero because the gradients underflowed are not dead: no LeakyReLU brings them back.
        if (findings.FirstOrDefault(f => f.Kind == FindingKind.GradientUnderflow && f.Severity != Severity.Info) is { } underflow)
            findings = findings.Where(f => !(f.Kind == FindingKind.DyingRelu && f.Layers.All(underflow.Layers.Contains))).ToList();
        bool lower = findings.Any(f => f.Severity != Severity.Info && f.Remedies.Any(r => r.Kind == RemedyKind.LowerLearningRate));
        if (!lower) return findings;
        return findings.Select(f => f.Kind != FindingKind.LearningRateTooLow && f.Remedies.Any(r => r.Kind == RemedyKind.RaiseLearningRate)
            ? f with { Remedies = f.Remedies.Where(r => r.Kind != RemedyKind.RaiseLearningRate).ToList() }
            : f).ToList();
    }
}
