namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Gradients never zeroed between updates. Evidence from two sides, so that zeroing the guard cannot see (through
/// <c>model.zero_grad()</c> or the inner optimizer) is never taken for none: the guard saw no <c>zero_grad()</c> in
/// <see cref="DiagnosticThresholds.UnzeroedSteps"/> or more consecutive steps, and over that streak the gradients grew as
/// a running sum does: the accumulation ratio ‖gₜ‖/‖gₜ − gₜ₋₁‖ (<see cref="StepRecord.AccumulationRatio"/>) rose by
/// <see cref="DiagnosticThresholds.AccumulationGrowth"/> and the total norm by 1.5× between the streak's first and last
/// thirds. Deliberate accumulation (several <c>backward()</c>, one <c>step()</c>, then <c>zero_grad()</c>) zeroes between
/// updates and is not flagged. Critical: every update applies the sum of all gradients so far.
/// </summary>
internal sealed class GradientsNotZeroedRule : IDiagnosticRule
{
    private const double NormGrowth = 1.5;

    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var streak = LongestStreak(c.History);
        if (streak.Count < t.UnzeroedSteps) yield break;
        var ratios = streak.Select(r => r.AccumulationRatio).OfType<double>().Where(double.IsFinite).ToList();
        var norms = streak.Where(r => r.IsFull && double.IsFinite(r.TotalNorm)).Select(r => r.TotalNorm).ToList();
        if (ratios.Count < 9 || norms.Count < 9) yield break;
        double ratioEarly = DiagnosisContext.Median(ratios.Take(ratios.Count / 3)), ratioLate = DiagnosisContext.Median(ratios.Skip(ratios.Count - ratios.Count / 3));
        double normEarly = DiagnosisContext.Median(norms.Take(norms.Count / 3)), normLate = DiagnosisContext.Median(norms.Skip(norms.Count - norms.Count / 3));
        if (!(ratioLate >= t.AccumulationGrowth * ratioEarly) || !(normLate >= NormGrowth * normEarly)) yield break;

        var first = streak[0].Step;
        var evidence = new List<string>
        {
            $"the guard saw no zero_grad() between step() calls for {streak.Count} consecutive steps ({first}–{streak[^1].Step})",
            $"the gradients grew as a running sum: ‖gₜ‖/‖gₜ − gₜ₋₁‖ of one parameter rose from {ratioEarly:0.0} to {ratioLate:0.0} (×{ratioLate / ratioEarly:0.0}; threshold ×{t.AccumulationGrowth}): each step added a fresh gradient of about the same size to a growing sum; zeroed gradients keep it level",
            $"total gradient norm {normEarly:0.00e+0} → {normLate:0.00e+0} (×{normLate / normEarly:0.0}) between the first and last thirds of the streak",
        };
        yield return new Finding(FindingKind.GradientsNotZeroed, Severity.Critical,
            $"Gradients are never zeroed: since step {first} every backward() adds to the last, and each update applies the sum of all the gradients so far.",
            Array.Empty<string>(), evidence, new List<Remedy> { Remedies.ZeroGradients }) { Since = first };
    }

    /// <summary>The longest run of consecutive steps on which the guard saw no zero_grad().</summary>
    private static List<StepRecord> LongestStreak(IReadOnlyList<StepRecord> history)
    {
        var best = new List<StepRecord>();
        var current = new List<StepRecord>();
        foreach (var r in history)
        {
            if (r.ZeroGradCalled == false) current.Add(r);
            else
            {
                if (current.Count > best.Count) best = current;
                current = new List<StepRecord>();
            }
        }
        return current.Count > best.Count ? current : best;
    }
}
