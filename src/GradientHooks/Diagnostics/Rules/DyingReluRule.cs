namespace GradientHooks.Diagnostics.Rules;

/// <summary>Dying ReLU: rectifier layers whose median fraction of dead units (zero for the whole batch) exceeds the threshold.</summary>
internal sealed class DyingReluRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var dying = c.ActivationMedians(a => a.DeadUnitFraction).Where(a => a.Median > t.DeadUnitFraction).ToList();
        if (dying.Count == 0) yield break;
        var evidence = dying.Select(d => $"{d.Example.Module} ({d.Example.Activation}): median {d.Median:P0} of units output zero for the whole batch over {c.Window.Count} steps (threshold {t.DeadUnitFraction:P0})").ToList();
        var worst = dying.Max(d => d.Median);
        yield return new Finding(FindingKind.DyingRelu, worst > 0.9 ? Severity.Critical : Severity.Warning,
            $"Dying ReLU: {string.Join(", ", dying.Select(d => d.Example.Module))} {(dying.Count == 1 ? "has" : "have")} most units permanently off; they pass no gradient.",
            dying.Select(d => d.Example.Module).ToList(), evidence,
            new List<Remedy> { Remedies.SwapToLeakyRelu, Remedies.LowerLearningRate, Remedies.HeInit });
    }
}
