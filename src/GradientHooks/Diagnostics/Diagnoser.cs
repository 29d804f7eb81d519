using GradientHooks.Diagnostics.Rules;

namespace GradientHooks.Diagnostics;

/// <summary>Runs every rule over a history of step records.</summary>
public static class Diagnoser
{
    /// <summary>Rules worth running from the first steps on: NaN, and growth that ended in NaN.</summary>
    private static readonly IDiagnosticRule[] AlwaysRules = { new NonFiniteRule(), new ExplodingRule() };

    /// <summary>Statistical rules that need at least <see cref="DiagnosticThresholds.MinSteps"/> full steps.</summary>
    private static readonly IDiagnosticRule[] WindowRules = { new VanishingRule(), new DyingReluRule(), new SaturationRule(), new LossRule() };

    /// <summary>Diagnoses <paramref name="history"/> (oldest first) with <paramref name="thresholds"/> (defaults when null).</summary>
    /// <returns>A diagnosis; with fewer than <see cref="DiagnosticThresholds.MinSteps"/> full steps it says there is not enough data (never "healthy").</returns>
    public static Diagnosis Diagnose(IReadOnlyList<StepRecord> history, DiagnosticThresholds? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        thresholds ??= new DiagnosticThresholds();
        thresholds.Validate();
        var context = new DiagnosisContext(history, thresholds);
        var findings = new List<Finding>();
        foreach (var rule in AlwaysRules) findings.AddRange(rule.Evaluate(context));
        bool enough = context.Window.Count >= thresholds.MinSteps;
        if (!enough)
            findings.Add(new Finding(FindingKind.NotEnoughData, Severity.Info,
                $"Not enough data yet: {context.Window.Count} fully captured step(s), the rules need {thresholds.MinSteps}.",
                Array.Empty<string>(), new[] { $"{history.Count} step(s) in the history, {context.Window.Count} with full statistics" }, Array.Empty<Remedy>()));
        else
            foreach (var rule in WindowRules) findings.AddRange(rule.Evaluate(context));
        findings.Sort((a, b) => b.Severity.CompareTo(a.Severity));
        return new Diagnosis(findings, context.Layers, enough, context.Window.Count,
            context.Window.Count > 0 ? context.Window[0].Step : 0, context.Window.Count > 0 ? context.Window[^1].Step : 0);
    }
}
