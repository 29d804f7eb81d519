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

        // Divergence: the loss now sits far above the best it reached earlier in the history.
        var best = c.AllLosses.MinBy(p => p.Loss);
        bool diverged = best.Loss > 0 && late > t.RisingLossFactor * best.Loss && best.Step < c.Window[0].Step;
        bool rising = late > t.RisingLossFactor * early;
        if (roughness > t.OscillationRelativeChange || rising || diverged)
        {
            var evidence = new List<string>();
            if (roughness > t.OscillationRelativeChange) evidence.Add($"mean step-to-step loss change is {roughness:P0} of the mean loss {mean:0.####} (threshold {t.OscillationRelativeChange:P0})");
            if (rising) evidence.Add($"median loss rose from {early:0.####} to {late:0.####} within the window (×{late / early:0.0}; threshold ×{t.RisingLossFactor})");
            if (diverged) evidence.Add($"the loss is now {late:0.####}, ×{late / best.Loss:0.0} its best {best.Loss:0.####} at step {best.Step} (threshold ×{t.RisingLossFactor})");
            yield return new Finding(FindingKind.LossOscillation, Severity.Warning,
                diverged || rising ? "The loss is rising: training has diverged from its best point." : "The loss oscillates strongly from step to step.",
                Array.Empty<string>(), evidence, new List<Remedy> { Remedies.LowerLearningRate, Remedies.GlobalNormClipping });
            yield break;
        }
        double change = Math.Abs(late - early) / Math.Max(Math.Abs(early), 1e-12);
        double progress = c.FirstLoss is double f && f != 0 ? (f - late) / Math.Abs(f) : 0;
        if (change < t.PlateauRelativeChange && progress < t.PlateauProgress)
            yield return new Finding(FindingKind.LossPlateau, Severity.Warning,
                $"The loss is flat at {late:0.####} and has not fallen much since the first step.",
                Array.Empty<string>(),
                new List<string>
                {
                    $"median loss {early:0.####} → {late:0.####} over the last {losses.Count} steps ({change:P2} change; threshold {t.PlateauRelativeChange:P0})",
                    $"{progress:P0} below the first captured loss {c.FirstLoss:0.####} (a fall of {t.PlateauProgress:P0} would count as converged)",
                },
                new List<Remedy> { Remedies.SwapToRelu, Remedies.HeInit, Remedies.BatchNorm, Remedies.RaiseLearningRate });
    }
}
