namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Saturation, three ways. From hooks: sigmoid/tanh modules whose median fraction of saturated outputs exceeds
/// <see cref="DiagnosticThresholds.SaturatedFraction"/>. From gradients, without hooks, where the rule is sound: in a
/// network whose activation modules are all sigmoid/tanh, Linear/Conv units that pass exactly zero gradient are
/// saturated beyond float precision (σ(x) rounds to 1 in float32 above x ≈ 16.6, tanh above ≈ 9, where the
/// derivative is exactly 0); and a recurrent layer (RNN/LSTM/GRU) that passes exactly zero gradient on every step has
/// its tanh/sigmoid gates pinned at ±1. Partial saturation (small but non-zero derivatives) cannot be told apart from a
/// small upstream gradient without seeing the activations; the hooks are needed for that.
/// </summary>
internal sealed class SaturationRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var evidence = new List<string>();
        var layers = new List<string>();
        bool critical = false;

        var saturated = c.ActivationMedians(a => a.SaturatedFraction).Where(a => a.Median > t.SaturatedFraction).ToList();
        foreach (var (a, m) in saturated)
        {
            evidence.Add($"{a.Module} ({a.Activation}): median {m:P0} of outputs where the derivative is below 1% of its peak (threshold {t.SaturatedFraction:P0})");
            layers.Add(a.Module);
        }
        if (c.Profile is { HasSaturating: true, HasRectifiers: false })
            foreach (var u in DyingReluRule.HiddenUnits(c).Where(u => u.DeadFraction > t.DeadUnitFraction && u.StreakSteps >= t.MinSteps))
            {
                evidence.Add($"{u.Layer} ({u.Module}): {u.DeadUnits} of {u.Units} units passed exactly zero gradient on each of the last {u.StreakSteps} full steps: saturated beyond float precision (derivative exactly 0)");
                layers.Add(u.Layer);
                critical |= u.DeadUnits == u.Units;
            }
        if (c.Recurrent && c.History.Count > 0)
        {
            var recurrent = c.Window[^1].Parameters.Where(x => x.Name.Contains("weight_hh", StringComparison.Ordinal)).Select(x => x.Layer).Distinct();
            foreach (var r in c.Layers.Where(l => l.PassesNoGradient && recurrent.Contains(l.Layer)))
            {
                evidence.Add($"{r.Layer} (recurrent): exactly zero gradient on every one of the last {c.Window.Count} full steps: its tanh/sigmoid units are pinned at ±1, where the derivative is exactly 0 in float32, and it no longer learns");
                layers.Add(r.Layer);
                critical = true;
            }
        }
        if (evidence.Count == 0) yield break;
        var named = layers.ToHashSet();
        long? since = c.Onset(r => r.Activations.Any(a => named.Contains(a.Module) && a.SaturatedFraction > t.SaturatedFraction)
            || r.Units.Any(u => named.Contains(u.Layer) && u.DeadFraction > t.DeadUnitFraction)
            || r.Layers.Any(l => named.Contains(l.Layer) && l.Gradient.Count > 0 && l.Gradient.SumOfSquares == 0));
        evidence.Add("σ'(x) = σ(x)(1 − σ(x)) ≤ 0.25 and σ'(5) ≈ 0.0066: a saturated unit passes almost no gradient");
        yield return new Finding(FindingKind.SaturatedActivations, critical ? Severity.Critical : Severity.Warning,
            critical
                ? $"Saturated activations in {string.Join(", ", layers)}: saturated so far that no gradient passes at all."
                : $"Saturated activations in {string.Join(", ", layers)}: most outputs sit on the flat part of the curve.",
            layers, evidence,
            new RemedyAdvisor(c.Profile).For(RemedyKind.BatchNorm, RemedyKind.XavierInit, RemedyKind.SwapToRelu, RemedyKind.LowerLearningRate)) { Since = since ?? c.Window[0].Step };
    }
}
