namespace GradientHooks.Diagnostics.Rules;

/// <summary>Loss plateau, oscillation and rise, from the losses passed to <c>Capture</c>.</summary>
internal sealed class LossRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var losses = c.WindowLosses;
        if (losses.Count < 10) yield break;
        int third = losses.Count / 3;
        double early = DiagnosisContext.Median(losses.Take(third)), late = DiagnosisContext.Median(losses.Skip(losses.Count - third));
        double mean = losses.Average();
        double roughness = Enumerable.Range(1, losses.Count - 1).Average(i => Math.Abs(losses[i] - losses[i - 1])) / Math.Max(Math.Abs(mean), 1e-12);
        double lag1 = LagOneAutocorrelation(losses, mean);
        bool oscillating = roughness > t.OscillationRelativeChange && lag1 <= t.OscillationAutocorrelation;

        // Each rise must also stand out from the mini-batch noise of the loss itself: heavy-tailed batches make a
        // block's median, and above all a single first loss, land far from the typical level by chance.
        double sigma = LogSpread(losses);
        // Divergence: the loss now sits far above the best it reached earlier in the history. "Best" is the lowest
        // median of consecutive blocks as long as the late third, so one lucky mini-batch is not taken for the best.
        var best = BestBlockMedian(c.AllLosses, third);
        bool diverged = best.Loss > 0 && late > t.RisingLossFactor * best.Loss && best.Step < c.Window[0].Step && Significant(late, best.Loss, sigma, third, third);
        // Or far above where training started (a model that blew up early has no good block to compare with).
        var first = c.AllLosses.Count > 0 ? c.AllLosses[0] : default;
        bool aboveStart = first.Loss > 0 && first.Step < c.Window[0].Step && late > t.RisingLossFactor * first.Loss && Significant(late, first.Loss, sigma, third, 1);
        bool rising = late > t.RisingLossFactor * early && Significant(late, early, sigma, third, third);
        if (oscillating || rising || diverged || aboveStart)
        {
            var evidence = new List<string>();
            if (oscillating) evidence.Add($"mean step-to-step loss change is {roughness:P0} of the mean loss {DiagnosisContext.Number(mean)} (threshold {t.OscillationRelativeChange:P0}), and successive losses alternate (lag-1 autocorrelation {lag1:0.00}; threshold {t.OscillationAutocorrelation:0.00})");
            if (rising) evidence.Add($"median loss rose from {DiagnosisContext.Number(early)} to {DiagnosisContext.Number(late)} within the window (×{late / early:0.0}; threshold ×{t.RisingLossFactor})");
            if (diverged) evidence.Add($"the loss is now {DiagnosisContext.Number(late)}, ×{late / best.Loss:0.0} its best {DiagnosisContext.Number(best.Loss)} at step {best.Step} (threshold ×{t.RisingLossFactor})");
            if (aboveStart) evidence.Add($"the loss is now {DiagnosisContext.Number(late)}, ×{late / first.Loss:0.0} its first value {DiagnosisContext.Number(first.Loss)} at step {first.Step} (threshold ×{t.RisingLossFactor})");
            yield return new Finding(FindingKind.LossOscillation, Severity.Warning,
                diverged || rising || aboveStart ? "The loss is rising: training has diverged from its best point." : "The loss oscillates strongly from step to step.",
                Array.Empty<string>(), evidence, new RemedyAdvisor(c.Profile).For(RemedyKind.LowerLearningRate, RemedyKind.RangeTest, RemedyKind.GlobalNormClipping)) { Since = c.Window[0].Step };
            yield break;
        }
        double change = Math.Abs(late - early) / Math.Max(Math.Abs(early), 1e-12);
        double progress = c.FirstLoss is double f && f != 0 ? (f - late) / Math.Abs(f) : 0;
        if (change < t.PlateauRelativeChange && progress < t.PlateauProgress)
            yield return new Finding(FindingKind.LossPlateau, Severity.Warning,
                $"The loss is flat at {DiagnosisContext.Number(late)} and has not fallen much since the first step.",
                Array.Empty<string>(),
                new List<string>
                {
                    $"median loss {DiagnosisContext.Number(early)} → {DiagnosisContext.Number(late)} over the last {losses.Count} steps ({change:P2} change; threshold {t.PlateauRelativeChange:P0})",
                    $"{progress:P0} below the first captured loss {DiagnosisContext.Number(c.FirstLoss)} (a fall of {t.PlateauProgress:P0} would count as converged)",
                },
                new RemedyAdvisor(c.Profile).For(PlateauRemedies(c.Profile))) { Since = c.Window[0].Step };
    }

    /// <summary>A flat loss: a saturating net needs a non-saturating activation first; a rectifier net, initialisation, normalisation and the learning rate.</summary>
    private static RemedyKind[] PlateauRemedies(ModelProfile? p) => p is { HasRectifiers: true, HasSaturating: false }
        ? new[] { RemedyKind.HeInit, RemedyKind.BatchNorm, RemedyKind.RaiseLearningRate }
        : new[] { RemedyKind.SwapToRelu, RemedyKind.HeInit, RemedyKind.BatchNorm, RemedyKind.RaiseLearningRate };

    /// <summary>
    /// Robust σ of ln(loss) over the window: 1.4826 × MAD of the step-to-step differences / √2, which a trend or a
    /// level shift does not inflate; NaN when a loss is not positive (then no noise test is made).
    /// </summary>
    internal static double LogSpread(IReadOnlyList<double> losses)
    {
        if (losses.Any(l => !(l > 0))) return double.NaN;
        var diffs = Enumerable.Range(1, losses.Count - 1).Select(i => Math.Log(losses[i]) - Math.Log(losses[i - 1])).ToList();
        return DiagnosisContext.ScaledMad(diffs, DiagnosisContext.Median(diffs)) / Math.Sqrt(2);
    }

    /// <summary>
    /// ln(a/b) ≥ 4 standard errors of the difference of a median of <paramref name="na"/> and one of
    /// <paramref name="nb"/> losses with log-spread σ (a median's standard error is 1.2533·σ/√n, a single loss's σ).
    /// </summary>
    internal static bool Significant(double a, double b, double sigma, int na, int nb)
    {
        if (double.IsNaN(sigma)) return true;
        static double Se(double s, int n) => n == 1 ? s : 1.2533 * s / Math.Sqrt(n);
        return Math.Log(a / b) >= 4 * Math.Sqrt(Math.Pow(Se(sigma, na), 2) + Math.Pow(Se(sigma, nb), 2));
    }

    /// <summary>r₁ = Σ (xᵢ − x̄)(xᵢ₊₁ − x̄) / Σ (xᵢ − x̄)²; 0 for a constant series.</summary>
    internal static double LagOneAutocorrelation(IReadOnlyList<double> x, double mean)
    {
        double numerator = 0, denominator = 0;
        for (var i = 0; i < x.Count; i++)
        {
            var d = x[i] - mean;
            denominator += d * d;
            if (i + 1 < x.Count) numerator += d * (x[i + 1] - mean);
        }
        return denominator > 0 ? numerator / denominator : 0;
    }

    /// <summary>The lowest median over consecutive, non-overlapping blocks of <paramref name="length"/> losses, with the block's last step.</summary>
    internal static (long Step, double Loss) BestBlockMedian(IReadOnlyList<(long Step, double Loss)> losses, int length)
    {
        (long Step, double Loss) best = (long.MaxValue, double.PositiveInfinity);
        for (var start = 0; start + length <= losses.Count; start += length)
        {
            var median = DiagnosisContext.Median(Enumerable.Range(start, length).Select(i => losses[i].Loss));
            if (median < best.Loss) best = (losses[start + length - 1].Step, median);
        }
        return best;
    }
}
