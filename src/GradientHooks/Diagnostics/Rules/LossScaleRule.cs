namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// The loss scaler's trajectory (<see cref="StepRecord.LossScale"/>): each overflow step, with the scale that overflowed.
/// A collapse when the scale keeps falling: at least half of the last <see cref="DiagnosticThresholds.Window"/> scaled
/// steps overflowed, or the last <see cref="DiagnosticThresholds.LossScaleOverflowRun"/> in a row did, or the scale fell
/// below 1 (the gradients overflow even unscaled). Critical when every one of the last steps overflowed (nothing is
/// learned), a Warning otherwise. A few overflows after which the scale settles (GradScaler's normal search for its
/// level, at the start and after each growth) are information.
/// </summary>
internal sealed class LossScaleRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var scaled = c.History.Where(r => r.LossScale is not null).ToList();
        var overflows = scaled.Where(r => r.LossScaleOverflow).ToList();
        if (overflows.Count == 0) yield break;
        var t = c.Thresholds;
        var recent = scaled.Skip(Math.Max(0, scaled.Count - t.Window)).ToList();
        int recentOverflows = recent.Count(r => r.LossScaleOverflow);
        int run = 0;
        for (int i = scaled.Count - 1; i >= 0 && scaled[i].LossScaleOverflow; i--) run++;
        double first = scaled[0].LossScale!.Value, last = scaled[^1].LossScale!.Value;
        bool collapse = (recent.Count >= 10 && recentOverflows * 2 >= recent.Count) || run >= t.LossScaleOverflowRun || last < 1;

        string Step(StepRecord r) => $"step {r.Step} at scale {r.LossScale:G6}" + (r.NonFiniteParameters.Count > 0 ? $" (Inf/NaN in {r.NonFiniteParameters[0]}{(r.NonFiniteParameters.Count > 1 ? $" and {r.NonFiniteParameters.Count - 1} more" : "")})" : "");
        var shown = overflows.Count <= 6 ? overflows : overflows.Take(3).Concat(overflows.Skip(overflows.Count - 3)).ToList();
        var evidence = new List<string>
        {
            $"{overflows.Count} of {scaled.Count} scaled step(s) overflowed and were skipped: " + string.Join(", ", shown.Select(Step)) + (overflows.Count > 6 ? " (first and last three)" : ""),
            $"the scale went from {first:G6} to {last:G6}" + (c.Profile?.LossScaling is { } s ? $" ({s})" : ""),
        };
        if (!collapse)
        {
            yield return new Finding(FindingKind.LossScaleCollapse, Severity.Info,
                $"The loss scale searched for its level: {overflows.Count} overflow step(s) skipped, then it held at {last:G6}.",
                Array.Empty<string>(), evidence, Array.Empty<Remedy>());
            yield break;
        }
        evidence.Add($"{recentOverflows} of the last {recent.Count} scaled steps overflowed; {run} in a row at the end");
        if (last < 1) evidence.Add($"the scale is below 1 ({last:G3}): the gradients overflow even unscaled, so scaling is not their problem: they are too large or NaN in themselves");
        var start = scaled.Count - run > 0 && run >= t.LossScaleOverflowRun ? scaled[scaled.Count - run] : recent.First(r => r.LossScaleOverflow);
        var advisor = new RemedyAdvisor(c.Profile);
        yield return new Finding(FindingKind.LossScaleCollapse, run >= recent.Count ? Severity.Critical : Severity.Warning,
            $"The loss scale keeps falling, {first:G6} → {last:G6}: the scaled gradients overflow step after step and {recentOverflows} of the last {recent.Count} updates were skipped.",
            Array.Empty<string>(), evidence, advisor.For(RemedyKind.LowerLearningRate, RemedyKind.GlobalNormClipping, RemedyKind.CheckInputs)) { Since = start.Step };
    }
}
