namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Dying ReLU, from the gradients themselves: Linear/Conv layers whose fraction of dead output units (no gradient on
/// each of the last <see cref="MonitorOptions.DeadUnitSteps"/> full steps, <see cref="UnitStats"/>) exceeds
/// <see cref="DiagnosticThresholds.DeadUnitFraction"/>; critical when a whole layer passes no gradient. This sees ReLU
/// modules called with <c>.forward()</c>, <c>functional.relu</c> and in-place <c>relu_()</c>. The output layer is left
/// out (no activation follows it), and so are networks whose only activation modules are sigmoid/tanh, whose exact
/// zeros are saturation (<see cref="SaturationRule"/>). Where activation hooks fire, their per-batch dead-unit
/// fraction is added as evidence; a model with no Linear/Conv units is judged by the hooks alone.
/// </summary>
internal sealed class DyingReluRule : IDiagnosticRule
{
    /// <summary>Above this fraction of dead units, and below the threshold, the finding is information.</summary>
    private const double InfoFraction = 0.5;

    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var p = c.Profile;
        if (p is { HasSaturating: true, HasRectifiers: false }) yield break;
        var hidden = HiddenUnits(c);
        var dying = hidden.Where(u => u.DeadFraction > t.DeadUnitFraction && u.StreakSteps >= t.MinSteps).ToList();
        var hooked = c.ActivationMedians(a => a.DeadUnitFraction).Where(a => a.Median > t.DeadUnitFraction).ToList();
        if (hidden.Count > 0 && dying.Count == 0)
        {
            // The gradients say most units are alive; more than half dead is worth knowing, not a problem.
            var many = hidden.Where(u => u.DeadFraction > InfoFraction && u.StreakSteps >= t.MinSteps).ToList();
            if (many.Count > 0)
                yield return new Finding(FindingKind.DyingRelu, Severity.Info,
                    $"{string.Join(", ", many.Select(u => $"{u.Layer} has {u.DeadFraction:P0}"))} of its units dead; the others carry the model.",
                    many.Select(u => u.Layer).ToList(),
                    many.Select(u => $"{u.Layer} ({u.Module}, {u.Units} units): {u.DeadUnits} passed exactly zero gradient on each of the last {u.StreakSteps} full steps (a problem above {t.DeadUnitFraction:P0})").ToList(),
                    Array.Empty<Remedy>());
            yield break;
        }
        if (dying.Count == 0 && hooked.Count == 0) yield break;

        var evidence = new List<string>();
        foreach (var u in dying)
            evidence.Add($"{u.Layer} ({u.Module}, {u.Units} units): {u.DeadUnits} of {u.Units} ({u.DeadFraction:P0}) passed exactly zero gradient on each of the last {u.StreakSteps} full steps (threshold {t.DeadUnitFraction:P0})");
        var fullyDead = dying.Where(u => u.DeadUnits == u.Units).ToList();
        if (fullyDead.Count > 0)
        {
            var deepest = fullyDead[^1];
            var before = hidden.TakeWhile(u => u.Layer != deepest.Layer).Select(u => u.Layer).ToList();
            if (before.Count > 0)
                evidence.Add($"{deepest.Layer} passes no gradient at all, so nothing reaches {string.Join(", ", before)} before it");
        }
        foreach (var (a, m) in hooked)
            evidence.Add($"{a.Module} ({a.Activation}): median {m:P0} of units output zero for the whole batch over {c.Window.Count} steps (forward hook)");
        if (p is { ActivationsAreFunctional: true } && dying.Count > 0)
            evidence.Add(p.FunctionalActivations.Count > 0
                ? "the model's activations are functional calls: " + string.Join(", ", p.FunctionalActivations.Select(f => $"{f.Method} calls {f.Function}"))
                : "the model has no activation module and no activation call was found in forward(); exact zeros could also come from sigmoid/tanh saturated beyond float precision");

        var layers = dying.Select(u => u.Layer).Concat(hooked.Select(h => h.Example.Module)).Distinct().ToList();
        bool critical = fullyDead.Count > 0 || dying.Any(u => u.DeadFraction > 0.95) || hooked.Any(h => h.Median > 0.95);
        var names = string.Join(", ", layers);
        var summary = fullyDead.Count > 0
            ? $"Dying ReLU: {string.Join(", ", fullyDead.Select(u => u.Layer))} pass{(fullyDead.Count == 1 ? "es" : "")} no gradient at all; every unit is dead."
            : $"Dying ReLU: {names} {(layers.Count == 1 ? "has" : "have")} most units permanently off; they pass no gradient.";
        var dyingNames = dying.Select(u => u.Layer).ToHashSet();
        var hookedNames = hooked.Select(h => h.Example.Module).ToHashSet();
        long? since = c.Onset(r => r.Units.Any(u => dyingNames.Contains(u.Layer) && u.DeadFraction > t.DeadUnitFraction)
            || r.Activations.Any(a => hookedNames.Contains(a.Module) && a.DeadUnitFraction > t.DeadUnitFraction));
        yield return new Finding(FindingKind.DyingRelu, critical ? Severity.Critical : Severity.Warning, summary, layers, evidence,
            new RemedyAdvisor(p).For(RemedyKind.SwapToLeakyRelu, RemedyKind.LowerLearningRate, RemedyKind.HeInit, RemedyKind.BatchNorm)) { Since = since ?? c.Window[0].Step };
    }

    /// <summary>Unit statistics of every Linear/Conv layer but the output layer (the last in parameter order).</summary>
    internal static List<UnitStats> HiddenUnits(DiagnosisContext c) => c.Units.Count <= 1 ? new List<UnitStats>() : c.Units.Take(c.Units.Count - 1).ToList();
}
