namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Robust spike detection on the total gradient norm, on the log scale, and whether each spike hurt training.
/// A spike at step s: z = (ln‖g‖ₛ − m) / σ ≥ <see cref="DiagnosticThresholds.SpikeZ"/> and ‖g‖ₛ ≥
/// <see cref="DiagnosticThresholds.SpikeFactor"/> · eᵐ, where m is the median and σ = max(1.4826·MAD, 0.05) the robust
/// spread of ln‖g‖ over a baseline: the up to <see cref="Baseline"/> full steps before s (at least
/// <see cref="MinBaseline"/>); for the first steps of a run, which have none, the <see cref="Baseline"/> steps after a
/// gap of <see cref="Gap"/>, so that a burst at the start is judged against where training settled.
/// The spike hurt when the loss responded: the median loss over the <see cref="Response"/> steps after it (over the
/// spike's own first <see cref="Gap"/> steps, for a start-of-run burst) is more than
/// <see cref="DiagnosticThresholds.LossResponseFactor"/> times the baseline's median loss and higher by more than a tenth
/// of the run's typical loss, or NaN/Inf follows within <see cref="Response"/> steps. A median over ten steps sees
/// through a few hard batches, whose high loss comes with their own high gradient and is not a response to an update.
/// </summary>
internal static class GradientSpikes
{
    public const int Baseline = 10;
    public const int MinBaseline = 2;
    public const int Gap = 5;
    public const int Response = 10;
    private const double MinLogSpread = 0.05;

    /// <summary>One spike.</summary>
    public sealed record Spike(long Step, double Norm, double BaselineNorm, double Z, double? LossBefore, double? LossAfter, bool FollowedByNonFinite, bool AtStart)
    {
        /// <summary>True when the loss responded or NaN/Inf followed.</summary>
        public bool Harmful { get; init; }
    }

    public static List<Spike> Find(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var steps = c.History.Where(r => r.IsFull && !r.HasNonFinite && double.IsFinite(r.TotalNorm) && r.TotalNorm > 0).ToList();
        var spikes = new List<Spike>();
        if (steps.Count < MinBaseline + 1) return spikes;
        var logs = steps.Select(r => Math.Log(r.Clipping?.NormBefore is double b && double.IsFinite(b) && b > 0 ? b : r.TotalNorm)).ToList();
        double typicalLoss = DiagnosisContext.Median(c.AllLosses.Select(l => Math.Abs(l.Loss)));
        for (int i = 0; i < steps.Count; i++)
        {
            var spike = i >= MinBaseline ? Test(c, steps, logs, i, Math.Max(0, i - Baseline), i, atStart: false, typicalLoss) : null;
            if (spike is null && i < Gap) spike = Test(c, steps, logs, i, i + Gap + 1, Math.Min(steps.Count, i + Gap + 1 + Baseline), atStart: true, typicalLoss);
            if (spike is not null) spikes.Add(spike);
        }
        return spikes;
    }

    private static Spike? Test(DiagnosisContext c, List<StepRecord> steps, List<double> logs, int i, int from, int to, bool atStart, double typicalLoss)
    {
        var t = c.Thresholds;
        if (to - from < (atStart ? Baseline / 2 : MinBaseline)) return null;
        var window = logs.GetRange(from, to - from);
        double m = DiagnosisContext.Median(window);
        double spread = Math.Max(DiagnosisContext.ScaledMad(window, m), MinLogSpread);
        double z = (logs[i] - m) / spread;
        if (z < t.SpikeZ || logs[i] - m < Math.Log(t.SpikeFactor)) return null;

        double? before = MedianLoss(steps, from, to);
        double? after = atStart ? MedianLoss(steps, i, Math.Min(steps.Count, i + Gap)) : MedianLoss(steps, i + 1, Math.Min(steps.Count, i + 1 + Response));
        long horizon = i + Response < steps.Count ? steps[i + Response].Step : long.MaxValue;
        bool nonFinite = c.History.Any(r => r.Step > steps[i].Step && r.Step <= horizon && (r.HasNonFinite || r.Loss is double l && !double.IsFinite(l)));
        bool responded = before is double lb && after is double la && la > t.LossResponseFactor * lb && la - lb > 0.1 * typicalLoss;
        return new Spike(steps[i].Step, Math.Exp(logs[i]), Math.Exp(m), z, before, after, nonFinite, atStart) { Harmful = responded || nonFinite };
    }

    private static double? MedianLoss(List<StepRecord> steps, int from, int to)
    {
        var losses = new List<double>();
        for (int k = from; k < to; k++) if (steps[k].Loss is double l && double.IsFinite(l)) losses.Add(l);
        return losses.Count == 0 ? null : DiagnosisContext.Median(losses);
    }
}
