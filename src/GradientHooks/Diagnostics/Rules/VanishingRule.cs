namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Vanishing gradients: among the layers through which gradient flows, the first one's median flowing RMS (over its
/// non-zero gradient elements, <see cref="GradientStats.NonZeroRms"/>) is below
/// <see cref="DiagnosticThresholds.VanishingRatio"/> times the last one's. A ratio of non-zero magnitudes: layers
/// whose units pass no gradient at all are the dying-ReLU and saturation rules' business, and absent sparse inputs
/// (zero columns) do not count as small gradients. Evidence: every layer's ratio, early update ratios, saturated
/// sigmoid/tanh layers, the loss.
/// </summary>
internal sealed class VanishingRule : IDiagnosticRule
{
    /// <summary>Gradients that vanished in every layer alike, over time: Critical, with the collapse and the flat loss as evidence.</summary>
    private static Finding Everywhere(DiagnosisContext c, DepthProfile depth, string collapse, string nothing)
    {
        var first = c.FullSteps.Take(5).Select(r => r.TotalNorm).ToList();
        long since = c.Onset(r => r.TotalNorm < 0.01 * DiagnosisContext.Median(first)) ?? c.Window[0].Step;
        var evidence = new List<string>
        {
            collapse,
            nothing,
            $"{depth.Quantity} RMS relative to the last layer, first to last: " + string.Join(", ", depth.Points.Select(l => $"{l.Name} {l.Rms / depth.Points[^1].Rms:0.0e+0}")) + " (no layer is singled out: all vanished together)",
            "the output no longer depends on the input: with saturated or collapsed hidden activations, ∂L/∂w = mean over the batch of (∂L/∂h)·xᵀ cancels out",
        };
        var saturating = c.Profile is { } p ? p.HasSaturating || p.ActivationsAreFunctional && !p.HasRectifiers : c.Window[^1].Activations.Any(a => a.Family == ActivationFamily.Saturating);
        var advisor = new RemedyAdvisor(c.Profile);
        var remedies = saturating
            ? advisor.For(RemedyKind.SwapToRelu, RemedyKind.HeInit, RemedyKind.XavierInit, RemedyKind.BatchNorm)
            : advisor.For(RemedyKind.HeInit, RemedyKind.BatchNorm, RemedyKind.SwapToLeakyRelu);
        return new Finding(FindingKind.VanishingGradients, Severity.Critical,
            "Vanishing gradients in every layer: the whole gradient has collapsed since the start and the model has learned nothing.",
            depth.Points.Select(x => x.Name).ToList(), evidence, remedies) { Since = since };
    }

    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var depth = c.Depth;
        var flowing = depth.Points;
        if (flowing.Count < 2) yield break;
        var t = c.Thresholds;
        var first = flowing[0];
        var last = flowing[^1];
        double ratio = first.Rms / last.Rms;
        if (!(ratio < t.VanishingRatio))
        {
            // Vanished everywhere rather than toward the input: every layer's gradient collapsed since the start while
            // the model learned nothing (a saturated net whose output no longer depends on its input).
            if (c.GradientCollapse(out var everywhere) && c.LearnedNothing(out var nothing))
                yield return Everywhere(c, depth, everywhere, nothing);
            yield break;
        }

        var evidence = new List<string>
        {
            $"first layer {first.Name}: {depth.Quantity} RMS {first.Rms:0.00e+0} = {ratio:0.0e+0} × last layer {last.Name} ({last.Rms:0.00e+0}); threshold {t.VanishingRatio:0.#e+0} (median over {c.Window.Count} steps, non-zero elements)",
            $"{depth.Quantity} RMS relative to the last layer, first to last: " + string.Join(", ", flowing.Select(l => $"{l.Name} {l.Rms / last.Rms:0.0e+0}")),
        };
        if (depth.OutputGradients && c.FlowingLayers is { Count: >= 2 } weights)
            evidence.Add($"weight gradients agree: {weights[0].Layer}'s RMS is {weights[0].FlowingRms / weights[^1].FlowingRms:0.0e+0} × {weights[^1].Layer}'s");
        var silent = c.Layers.Where(l => l.PassesNoGradient).Select(l => l.Layer).ToList();
        if (silent.Count > 0) evidence.Add($"{string.Join(", ", silent)} pass{(silent.Count == 1 ? "es" : "")} no gradient at all and {(silent.Count == 1 ? "is" : "are")} left out of the ratio");
        if (c.Layers.FirstOrDefault(l => l.Layer == first.Name)?.UpdateRatio is double fu && c.Layers.FirstOrDefault(l => l.Layer == last.Name)?.UpdateRatio is double lu)
            evidence.Add($"update ratio ‖Δw‖/‖w‖: {first.Name} {fu:0.0e+0} vs {last.Name} {lu:0.0e+0}" + (fu < t.FrozenUpdateRatio ? " (early weights barely move)" : ""));
        var saturated = c.ActivationMedians(a => a.SaturatedFraction).Where(a => a.Median > 0.1).ToList();
        foreach (var (a, m) in saturated) evidence.Add($"{a.Module} ({a.Activation}): {m:P0} of outputs saturated");
        if (c.WindowLosses.Count >= 2)
            evidence.Add($"loss {DiagnosisContext.Number(c.WindowLosses[0])} → {DiagnosisContext.Number(c.WindowLosses[^1])} over the window");

        var saturating = c.Profile is { } p ? p.HasSaturating || p.ActivationsAreFunctional && !p.HasRectifiers
            : c.Window[^1].Activations.Any(a => a.Family == ActivationFamily.Saturating);
        var advisor = new RemedyAdvisor(c.Profile);
        var remedies = saturating
            ? advisor.For(RemedyKind.SwapToRelu, RemedyKind.HeInit, RemedyKind.XavierInit, RemedyKind.BatchNorm)
            : advisor.For(RemedyKind.HeInit, RemedyKind.BatchNorm, RemedyKind.SwapToLeakyRelu);
        var layers = flowing.Where(l => l.Rms < t.VanishingRatio * last.Rms).Select(l => l.Name).ToList();
        // Severity tracks harm, not only the ratio: a net that has learned nothing, or whose gradients have collapsed
        // altogether (the last layer's too, which makes the ratio look better), is critical whatever the ratio.
        bool learnedNothing = c.LearnedNothing(out var noProgress);
        if (learnedNothing) evidence.Add(noProgress);
        bool collapsed = c.GradientCollapse(out var collapse);
        if (collapsed) evidence.Add(collapse);
        var severity = ratio < t.VanishingRatio * t.VanishingRatio || learnedNothing || collapsed ? Severity.Critical : Severity.Warning;
        long? since = c.Onset(r => depth.StepRatio(r, first.Name, last.Name) is double q ? q < t.VanishingRatio : null);
        yield return new Finding(FindingKind.VanishingGradients, severity,
            $"Vanishing gradients: {first.Name}'s gradients are {1 / ratio:0.0e+0} times smaller than {last.Name}'s, so the early layers barely learn" +
                (learnedNothing ? "; the model has learned nothing." : "."),
            layers, evidence, remedies) { Since = since ?? c.Window[0].Step };
    }
}
