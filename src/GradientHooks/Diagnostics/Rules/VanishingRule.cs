namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Vanishing gradients: the first layer's median gradient RMS is below <see cref="DiagnosticThresholds.VanishingRatio"/>
/// times the last layer's. Evidence: the ratio of every layer to the last, early layers' update ratios against the
/// last layer's, saturated sigmoid/tanh layers, a flat loss.
/// </summary>
internal sealed class VanishingRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        if (c.Layers.Count < 2) yield break;
        var t = c.Thresholds;
        var first = c.Layers[0];
        var last = c.Layers[^1];
        if (!(first.RatioToLast < t.VanishingRatio)) yield break;

        var evidence = new List<string>
        {
            $"first layer {first.Layer}: gradient RMS {first.GradientRms:0.00e+0} = {first.RatioToLast:0.0e+0} × last layer {last.Layer} ({last.GradientRms:0.00e+0}); threshold {t.VanishingRatio:0.#e+0} (median over {c.Window.Count} steps)",
            "gradient RMS relative to the last layer, first to last: " + string.Join(", ", c.Layers.Select(l => $"{l.Layer} {l.RatioToLast:0.0e+0}")),
        };
        if (first.UpdateRatio is double fu && last.UpdateRatio is double lu)
            evidence.Add($"update ratio ‖Δw‖/‖w‖: {first.Layer} {fu:0.0e+0} vs {last.Layer} {lu:0.0e+0}" + (fu < t.FrozenUpdateRatio ? " (early weights barely move)" : ""));
        var saturated = c.ActivationMedians(a => a.SaturatedFraction).Where(a => a.Median > 0.1).ToList();
        foreach (var (a, m) in saturated) evidence.Add($"{a.Module} ({a.Activation}): {m:P0} of outputs saturated");
        if (c.WindowLosses.Count >= 2)
            evidence.Add($"loss {c.WindowLosses[0]:0.####} → {c.WindowLosses[^1]:0.####} over the window");

        var saturating = c.Window[^1].Activations.Any(a => a.Family == ActivationFamily.Saturating);
        var remedies = saturating
            ? new List<Remedy> { Remedies.SwapToRelu, Remedies.HeInit, Remedies.XavierInit, Remedies.BatchNorm }
            : new List<Remedy> { Remedies.HeInit, Remedies.BatchNorm, Remedies.SwapToLeakyRelu };
        var layers = c.Layers.Where(l => l.RatioToLast < t.VanishingRatio).Select(l => l.Layer).ToList();
        var severity = first.RatioToLast < t.VanishingRatio * t.VanishingRatio ? Severity.Critical : Severity.Warning;
        yield return new Finding(FindingKind.VanishingGradients, severity,
            $"Vanishing gradients: {first.Layer}'s gradients are {1 / first.RatioToLast:0.0e+0} times smaller than {last.Layer}'s, so the early layers barely learn.",
            layers, evidence, remedies);
    }
}
