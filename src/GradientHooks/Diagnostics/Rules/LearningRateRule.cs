namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// The learning rate, judged by how far each update moves the weights: the update ratio ‖Δw‖/‖w‖ per layer, whose
/// usual value is about <see cref="DiagnosticThresholds.TypicalUpdateRatio"/> (1e−3).
/// <list type="bullet">
/// <item>Too high: the median over layers, as a median over 5 consecutive full steps, reaches
/// <see cref="DiagnosticThresholds.HighUpdateRatio"/>, on steps that are not gradient spikes (a spike's large update is
/// the explosion's doing, reported by <see cref="ExplodingRule"/>), and an update made with a calm gradient did harm on the
/// next step (the loss above ×1.5 its value at the onset, NaN/Inf, units newly dead). Information on its own (a run that
/// recovers, such as an RNN clipped at norm 1, is not broken); dated by the first such step, so that when it comes
/// before lasting damage (an explosion, dead units) <see cref="CausalOrder"/> makes it their root cause, as severe as
/// they are. The remedy divides the rate by the measured ratio over 1e−3.</item>
/// <item>Too low: the loss has not fallen, gradients flow (no layer passes none, the first layer's is within the
/// vanishing threshold of the last's, and the whole gradient has not collapsed since the start) and the window's median
/// update ratio over layers is below <see cref="DiagnosticThresholds.FrozenUpdateRatio"/>. The remedy multiplies the rate
/// by 1e−3 over the ratio.</item>
/// </list>
/// </summary>
internal sealed class LearningRateRule : IDiagnosticRule
{
    private const int Block = 5;

    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        if (TooHigh(c) is { } high) yield return high;
        else if (TooLow(c) is { } low) yield return low;
    }

    /// <summary>Median over layers of the update ratio of a full step, or null when the step has none.</summary>
    private static double? LayerMedian(StepRecord r)
    {
        var ratios = r.Layers.Select(l => l.UpdateRatio).OfType<double>().Where(double.IsFinite).ToList();
        return ratios.Count == 0 ? null : DiagnosisContext.Median(ratios);
    }

    private static Finding? TooHigh(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var steps = c.FullSteps;
        // Steps whose total norm is a spike (×SpikeFactor the median of the up to 10 steps before) are left out.
        var calm = new List<(StepRecord Step, double Ratio)>();
        for (int i = 0; i < steps.Count; i++)
        {
            if (LayerMedian(steps[i]) is not double m) continue;
            var before = steps.Skip(Math.Max(0, i - 10)).Take(Math.Min(i, 10)).Select(r => r.TotalNorm).Where(double.IsFinite).ToList();
            if (before.Count > 0 && steps[i].TotalNorm > t.SpikeFactor * DiagnosisContext.Median(before)) continue;
            calm.Add((steps[i], m));
        }
        for (int i = 0; i + Block <= calm.Count; i++)
        {
            var block = calm.Skip(i).Take(Block).ToList();
            double median = DiagnosisContext.Median(block.Select(b => b.Ratio));
            if (median < t.HighUpdateRatio) continue;
            var onset = block[0].Step;
            // Large updates alone are not harm: an RNN clipped at norm 1 takes steps of 40 % in its first updates and
            // trains well. They are too large when the loss blows up with them (or NaN follows) within Response steps.
            var harm = Harm(c, onset);
            if (harm is null) return null;
            var layers = onset.Layers.Where(l => l.UpdateRatio is double u && u >= t.HighUpdateRatio).OrderByDescending(l => l.UpdateRatio).ToList();
            double factor = Remedies.RoundFactor(median / t.TypicalUpdateRatio);
            var evidence = new List<string>
            {
                $"median over layers of the update ratio ‖Δw‖/‖w‖: {median:0.00e+0} over steps {block[0].Step.Step}–{block[^1].Step.Step} (threshold {t.HighUpdateRatio:0.###}; a well-set rate moves the weights about {t.TypicalUpdateRatio:0.#e+0} of their size per step)",
                $"at step {onset.Step}: " + string.Join(", ", onset.Layers.Where(l => l.UpdateRatio is not null).Select(l => $"{l.Layer} {l.UpdateRatio:0.0e+0}")),
                $"those steps' gradients were not spikes (each below ×{t.SpikeFactor:0.#} the median of the steps before it): the step size, not the gradient, made the updates large",
                harm,
            };
            // Information on its own: a run that recovers from its large first steps (an RNN clipped at norm 1) is not
            // broken. CausalOrder makes it the root cause, at their severity, of the problems it explains.
            return new Finding(FindingKind.LearningRateTooHigh, Severity.Info,
                $"The learning rate is too high: from step {onset.Step} each update moved the weights by {median:P0} of their size, about {median / t.TypicalUpdateRatio:0} times the usual {t.TypicalUpdateRatio:0.#e+0}, and did damage.",
                layers.Select(l => l.Layer).ToList(), evidence,
                new RemedyAdvisor(c.Profile).LowerLearningRateBy(factor, $"dividing by about {factor:0} brings the update ratio near {t.TypicalUpdateRatio:0.#e+0}").ToList())
            { Since = onset.Step };
        }
        return null;
    }

    /// <summary>
    /// The damage a large update did, judged on the step after it (a step's loss and gradients are measured before its
    /// update, so update s shows at step s + 1), for the updates from <paramref name="onset"/> on, at most
    /// <see cref="GradientSpikes.Response"/> of them, made with calm gradients (an update made with a spiking gradient is
    /// the explosion's doing): the loss rising above ×<see cref="GradientSpikes.StartRise"/> its value at the onset, NaN/Inf,
    /// or a hidden layer's units going dead (more than <see cref="DiagnosticThresholds.DeadUnitFraction"/> passing no
    /// gradient) that were alive at the onset. Null when the loss took the large steps in its stride.
    /// </summary>
    private static string? Harm(DiagnosisContext c, StepRecord onset)
    {
        var t = c.Thresholds;
        var steps = c.FullSteps;
        double? start = onset.Loss;
        var alive = Hidden(onset).Where(u => u.ZeroFraction <= t.DeadUnitFraction).Select(u => u.Layer).ToHashSet();
        for (int i = 0; i < steps.Count; i++)
        {
            var s = steps[i];
            if (s.Step < onset.Step || s.Step >= onset.Step + GradientSpikes.Response) continue;
            var before = steps.Skip(Math.Max(0, i - 10)).Take(Math.Min(i, 10)).Select(r => r.TotalNorm).Where(double.IsFinite).ToList();
            if (before.Count > 0 && s.TotalNorm > t.SpikeFactor * DiagnosisContext.Median(before)) continue;   // a spiking gradient
            var next = c.History.FirstOrDefault(r => r.Step == s.Step + 1);
            if (next is null) continue;
            if (DiagnosisContext.NonFiniteTraining(next)) return $"NaN/Inf followed at step {next.Step}, after the update of step {s.Step}";
            if (start is double first && next.Loss is double after && after > GradientSpikes.StartRise * first)
                return $"the loss rose with them: {DiagnosisContext.Number(first)} at step {onset.Step}, {DiagnosisContext.Number(after)} at step {next.Step} after the update of step {s.Step} (×{after / first:0.#}; threshold ×{GradientSpikes.StartRise})";
            if (Hidden(next).FirstOrDefault(u => alive.Contains(u.Layer) && u.ZeroFraction > t.DeadUnitFraction) is { } dead)
                return $"units died with them: at step {next.Step}, after the update of step {s.Step}, {dead.ZeroUnits} of {dead.Units} units of {dead.Layer} passed no gradient, against {Hidden(onset).First(u => u.Layer == dead.Layer).ZeroUnits} at step {onset.Step}";
        }
        return null;
    }

    private static IEnumerable<UnitStats> Hidden(StepRecord r) => r.Units.Take(Math.Max(0, r.Units.Count - 1));

    private static Finding? TooLow(DiagnosisContext c)
    {
        var t = c.Thresholds;
        if (!c.LearnedNothing(out var flat)) return null;
        // A gradient that collapsed since the start (a saturated net whose outputs no longer depend on its input) also
        // makes tiny updates; raising the rate a million times would not help it: that is vanishing, not the rate.
        if (c.GradientCollapse(out _)) return null;
        var flowing = c.FlowingLayers;
        if (flowing.Count < 1 || c.Layers.Any(l => l.PassesNoGradient)) return null;
        if (flowing.Count >= 2 && flowing[0].FlowingRms < t.VanishingRatio * flowing[^1].FlowingRms) return null;
        var ratios = c.Window.Select(LayerMedian).OfType<double>().ToList();
        if (ratios.Count < t.MinSteps) return null;
        double median = DiagnosisContext.Median(ratios);
        if (!(median < t.FrozenUpdateRatio) || median <= 0) return null;
        double factor = Remedies.RoundFactor(t.TypicalUpdateRatio / median);
        var evidence = new List<string>
        {
            $"median over layers of the update ratio ‖Δw‖/‖w‖: {median:0.0e+0} over the window (threshold {t.FrozenUpdateRatio:0.#e+0}; a well-set rate moves the weights about {t.TypicalUpdateRatio:0.#e+0} of their size per step)",
            flat,
            $"gradients flow: every layer passes some, and {flowing[0].Layer}'s RMS is {(flowing.Count >= 2 ? flowing[0].FlowingRms / flowing[^1].FlowingRms : 1):0.0e+0} × {flowing[^1].Layer}'s",
        };
        return new Finding(FindingKind.LearningRateTooLow, Severity.Warning,
            $"The learning rate is too low: each update moves the weights by {median:0.0e+0} of their size, {t.TypicalUpdateRatio / median:0} times less than usual, and the loss does not move.",
            Array.Empty<string>(), evidence,
            new RemedyAdvisor(c.Profile).RaiseLearningRateBy(factor, $"multiplying by about {factor:0} brings the update ratio near {t.TypicalUpdateRatio:0.#e+0}").ToList())
        { Since = c.Window[0].Step };
    }
}
