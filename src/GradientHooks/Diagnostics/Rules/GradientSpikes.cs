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
/// A start-of-run burst needs more: every run starts at a loss far above where it settles, and its gradients fall
/// with the loss, so a high loss during the first steps is learning, not harm. Such a burst hurt only when the loss
/// also rose during it, above <see cref="StartRise"/> times the run's first loss (an overshoot), or NaN/Inf followed;
/// <see cref="Spike.Responded"/> without the rise is left for the caller to weigh against other evidence (weights that
/// started too large).
/// </summary>
internal static class GradientSpikes
{
    public const int Baseline = 10;
    public const int MinBaseline = 2;
    public const int Gap = 5;
    public const int Response = 10;
    private const double MinLogSpread = 0.05;

    /// <summary>How far above the run's first loss the loss must climb during a start-of-run burst for the burst to have hurt.</summary>
    public const double StartRise = 1.5;

    /// <summary>One spike.</summary>
    public sealed record Spike(long Step, double Norm, double BaselineNorm, double Z, double? LossBefore, double? LossAfter, bool FollowedByNonFinite, bool AtStart)
    {
        /// <summary>True when NaN/Inf followed, or the loss responded (at the start of a run: and rose above its first value).</summary>
        public bool Harmful { get; init; }

        /// <summary>The median loss after the spike (over it, at the start) was ×LossResponseFactor the baseline's.</summary>
        public bool Responded { get; init; }

        /// <summary>At the start of a run: the largest loss of the burst's steps, when it rose above <see cref="StartRise"/> × the first loss; otherwise null.</summary>
        public double? PeakLoss { get; init; }
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
        bool nonFinite = c.History.Any(r => r.Step > steps[i].Step && r.Step <= horizon && DiagnosisContext.NonFiniteTraining(r));
        bool responded = before is double lb && after is double la && la > t.LossResponseFactor * lb && la - lb > 0.1 * typicalLoss;
        double? peak = atStart ? RiseAtStart(c, steps[Math.Min(steps.Count - 1, i + Gap - 1)].Step) : null;
        bool harmful = nonFinite || (responded && (!atStart || peak is not null));
        return new Spike(steps[i].Step, Math.Exp(logs[i]), Math.Exp(m), z, before, after, nonFinite, atStart) { Harmful = harmful, Responded = responded, PeakLoss = peak };
    }

    /// <summary>The largest loss recorded up to step <paramref name="until"/>, if it exceeds <see cref="StartRise"/> × the run's first loss.</summary>
    private static double? RiseAtStart(DiagnosisContext c, long until)
    {
        if (c.FirstLoss is not double first || !(first > 0)) return null;
        double peak = double.NegativeInfinity;
        foreach (var (step, loss) in c.AllLosses)
        {
            if (step > until) break;
            peak = Math.Max(peak, loss);
        }
        return peak > StartRise * first ? peak : null;
    }

    private static double? MedianLoss(List<StepRecord> steps, int from, int to)
    {
        var losses = new List<double>();
        for (int k = from; k < to; k++) if (steps[k].Loss is double l && double.IsFinite(l)) losses.Add(l);
        return losses.Count == 0 ? null : DiagnosisContext.Median(losses);
    }
}
