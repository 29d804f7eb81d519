namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Exploding gradients need evidence that the growth is real and does harm: the total norm grows geometrically over
/// the window (least-squares fit of ln‖g‖ on the step); or it spikes (robustly, see <see cref="GradientSpikes"/>) and
/// the loss responds or NaN/Inf follows; or it rises by <see cref="DiagnosticThresholds.GrowthMinRise"/> or more and
/// then turns into NaN/Inf; or the first layer's flowing gradient RMS is far above the last layer's. Spikes the loss
/// absorbs (hard mini-batches, heavy-tailed data) are reported as information only, and so is a burst in the first
/// steps whose loss only fell (training converging from its untrained start), unless the weights started too large.
/// </summary>
internal sealed class ExplodingRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var evidence = new List<string>();
        var layers = new List<string>();
        var severity = Severity.Warning;
        long? since = null;
        void Began(long step) => since = since is long s ? Math.Min(s, step) : step;

        var points = c.Window.Where(r => double.IsFinite(r.TotalNorm) && r.TotalNorm > 0).Select(r => ((double)r.Step, Math.Log(r.TotalNorm))).ToList();
        if (points.Count >= 5)
        {
            var (slope, _, r2) = Fit(points);
            double rise = Math.Exp(slope * (points[^1].Item1 - points[0].Item1));
            if (slope > Math.Log(2) / t.GrowthDoublingSteps && r2 >= t.GrowthMinR2 && rise >= t.GrowthMinRise)
            {
                evidence.Add($"total gradient norm grows ×{Math.Exp(slope):0.###} per step (doubling every {Math.Log(2) / slope:0.#} steps, R² {r2:0.00}), ×{rise:0.0e+0} over steps {points[0].Item1}–{points[^1].Item1}; threshold: doubling within {t.GrowthDoublingSteps} steps");
                severity = Severity.Critical;
                Began((long)points[0].Item1);
            }
        }

        var spikes = GradientSpikes.Find(c);
        // A start-of-run burst whose loss only fell counts when the weights started too large for their activations.
        var initScale = InitScale(c);
        var harmful = spikes.Where(s => s.Harmful || (s.AtStart && s.Responded && initScale is not null)).ToList();
        if (harmful.Count > 0)
        {
            var first = harmful[0];
            Began(first.Step);
            var worst = harmful.MaxBy(s => s.Z)!;
            evidence.Add($"{harmful.Count} gradient spike(s) the loss did not absorb, first at step {first.Step}: norm {first.Norm:0.00e+0} = {first.Norm / first.BaselineNorm:0.#}× {(first.AtStart ? "where training settled after it" : "the median of the 10 steps before")} ({first.BaselineNorm:0.00e+0}), {first.Z:0.#} robust standard deviations on the log scale (threshold {t.SpikeZ:0.#})" +
                (worst != first ? $"; largest at step {worst.Step} ({worst.Norm:0.00e+0}, z {worst.Z:0.#})" : ""));
            evidence.Add(first.FollowedByNonFinite && first.LossAfter is null
                ? $"NaN/Inf followed within {GradientSpikes.Response} steps"
                : $"the loss responded: median {DiagnosisContext.Number(first.LossAfter)} {(first.AtStart ? "over the spike's steps" : "over the next 10 steps")} against {DiagnosisContext.Number(first.LossBefore)} {(first.AtStart ? "once training settled" : "before")} (×{first.LossAfter / first.LossBefore:0.#}; threshold ×{t.LossResponseFactor})" +
                  (first.PeakLoss is double peak && c.FirstLoss is double firstLoss ? $", and it climbed to {DiagnosisContext.Number(peak)} from the {DiagnosisContext.Number(firstLoss)} it started at (×{peak / firstLoss:0.#}; threshold ×{GradientSpikes.StartRise})" : "") +
                  (first.FollowedByNonFinite ? ", then NaN/Inf" : ""));
            if (harmful.Any(s => s.FollowedByNonFinite)) severity = Severity.Critical;
            // Never recovered: the window's loss is still far above where it was before the first harmful spike.
            double late = DiagnosisContext.Median(c.WindowLosses);
            if (!first.AtStart && first.LossBefore is double lb && late > t.LossResponseFactor * lb)
            {
                evidence.Add($"the loss never came back: median {DiagnosisContext.Number(late)} over the last {c.WindowLosses.Count} steps, ×{late / lb:0.#} its {DiagnosisContext.Number(lb)} before step {first.Step}");
                severity = Severity.Critical;
            }
        }

        // Growth that ends in NaN/Inf: too few finite steps for a fit, but the rise before the first bad step says it.
        var firstBad = c.History.FirstOrDefault(r => r.HasNonFinite && !DiagnosisContext.ScalerOverflowOnly(r));
        if (firstBad != null)
        {
            var before = c.History.Where(r => r.Step < firstBad.Step && r.IsFull && double.IsFinite(r.TotalNorm) && r.TotalNorm > 0).TakeLast(t.Window).ToList();
            if (before.Count >= 2)
            {
                var low = before.MinBy(r => r.TotalNorm)!;
                var high = before.Where(r => r.Step > low.Step).MaxBy(r => r.TotalNorm);
                if (high != null && high.TotalNorm >= t.GrowthMinRise * low.TotalNorm)
                {
                    evidence.Add($"total gradient norm rose ×{high.TotalNorm / low.TotalNorm:0.0e+0} from step {low.Step} ({low.TotalNorm:0.00e+0}) to step {high.Step} ({high.TotalNorm:0.00e+0}), then NaN/Inf at step {firstBad.Step}");
                    Began(low.Step);
                    severity = Severity.Critical;
                }
            }
        }
        var depth = c.Depth;
        var flowing = depth.Points;
        if (flowing.Count >= 2 && flowing[0].Rms > t.ExplodingRatio * flowing[^1].Rms)
        {
            evidence.Add($"first layer {flowing[0].Name}: {depth.Quantity} RMS {flowing[0].Rms / flowing[^1].Rms:0.0e+0} × the last layer's (threshold {t.ExplodingRatio:0.#e+0}): gradients grow toward the input");
            layers.AddRange(flowing.Where(l => l.Rms > t.ExplodingRatio * flowing[^1].Rms).Select(l => l.Name));
            severity = Severity.Critical;
            Began(c.Onset(r => depth.StepRatio(r, flowing[0].Name, flowing[^1].Name) is double q ? q > t.ExplodingRatio : null) ?? c.Window[0].Step);
        }

        if (evidence.Count == 0)
        {
            if (spikes.Count > 0) yield return Absorbed(spikes, t, initChecked: c.Profile is { } p && p.Layers.Count >= 2 && !p.HasNormalization);
            yield break;
        }
        if (initScale is not null) evidence.Add(initScale);
        var silent = c.Layers.Where(l => l.PassesNoGradient).Select(l => l.Layer).ToList();
        if (silent.Count > 0)
            evidence.Add($"since then {string.Join(", ", silent)} pass{(silent.Count == 1 ? "es" : "")} no gradient at all (exactly zero on every step of the window)");
        var clipped = c.Window.Count(r => r.Clipping?.Clipped == true);
        if (clipped > 0) evidence.Add($"{clipped} of {c.Window.Count} steps were clipped");
        if (layers.Count == 0) layers.AddRange(c.Layers.Select(l => l.Layer));

        var advisor = new RemedyAdvisor(c.Profile);
        var remedies = c.Recurrent
            ? new List<Remedy?> { advisor.RecurrentClipping(), Remedies.LowerLearningRate, Remedies.XavierInit }.OfType<Remedy>().ToList()
            : advisor.For(RemedyKind.GlobalNormClipping, RemedyKind.LowerLearningRate, RemedyKind.HeInit, RemedyKind.BatchNorm);
        bool startOnly = evidence.Count > 0 && harmful.Count > 0 && harmful.All(s => s.AtStart) && severity == Severity.Warning && evidence.Count <= 3;
        yield return new Finding(FindingKind.ExplodingGradients, severity,
            startOnly
                ? $"Exploding gradients at the start of training: the first steps' gradient norms were ×{harmful.Max(s => s.Norm / s.BaselineNorm):0} where training settled, and the loss with them."
                : "Exploding gradients: gradient norms are growing out of control" + (c.Recurrent ? " (recurrent layers present)." : "."),
            layers, evidence, remedies) { Since = since };
    }

    /// <summary>The flowing-RMS ratio of layer <paramref name="first"/> to layer <paramref name="last"/> on one step; null when either passes no gradient.</summary>
    internal static double? DepthRatio(StepRecord r, string first, string last)
    {
        double a = double.NaN, b = double.NaN;
        foreach (var l in r.Layers)
        {
            if (l.Layer == first) a = l.Gradient.NonZeroRms;
            if (l.Layer == last) b = l.Gradient.NonZeroRms;
        }
        return a > 0 && b > 0 ? a / b : null;
    }

    /// <summary>Spikes the loss absorbed: reported as information.</summary>
    private static Finding Absorbed(List<GradientSpikes.Spike> spikes, DiagnosticThresholds t, bool initChecked)
    {
        var worst = spikes.MaxBy(s => s.Z)!;
        if (spikes.All(s => s.AtStart))
            return new Finding(FindingKind.ExplodingGradients, Severity.Info,
                $"Large gradients in the first steps, gone once training settled: the start of training, not an explosion.",
                Array.Empty<string>(),
                new[]
                {
                    $"largest at step {worst.Step}: norm {worst.Norm:0.00e+0}, {worst.Norm / worst.BaselineNorm:0.#}× where training settled after it ({worst.Z:0.#} robust standard deviations of ln‖g‖; threshold {t.SpikeZ:0.#})",
                    $"the loss never rose above ×{GradientSpikes.StartRise} its first value during them and no NaN/Inf followed" +
                        (initChecked ? "; the weights did not start too large for their activations" : ""),
                },
                Array.Empty<Remedy>()) { Since = spikes[0].Step };
        return new Finding(FindingKind.ExplodingGradients, Severity.Info,
            $"{spikes.Count} gradient spike(s) that the loss absorbed: hard mini-batches, not an explosion.",
            Array.Empty<string>(),
            new[]
            {
                $"largest at step {worst.Step}: norm {worst.Norm:0.00e+0}, {worst.Norm / worst.BaselineNorm:0.#}× its baseline median ({worst.Z:0.#} robust standard deviations of ln‖g‖; threshold {t.SpikeZ:0.#})",
                "after every spike the loss stayed within ×" + t.LossResponseFactor.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " of its level before, and no NaN/Inf followed",
            },
            Array.Empty<Remedy>()) { Since = spikes[0].Step };
    }

    /// <summary>Evidence that the weights started too large for their activations: √(fan_in·E[w²]) well above He's √2 (rectifiers) or 1 (others).</summary>
    private static string? InitScale(DiagnosisContext c)
    {
        var p = c.Profile;
        if (p is null || p.Layers.Count < 2 || p.HasNormalization) return null;
        double target = p.HasRectifiers || p.ActivationsAreFunctional ? Math.Sqrt(2) : 1;
        var hidden = p.Layers.Take(p.Layers.Count - 1).ToList();
        double median = DiagnosisContext.Median(hidden.Select(l => l.WeightScale));
        if (median < 1.25 * target) return null;
        double gain = median / target;
        return $"the weights started at √(fan_in·E[w²]) = {median:0.00} (median over {hidden.Count} layers), {gain:0.00}× the {target:0.00} that keeps the signal's variance constant (He et al. 2015): each layer amplifies it ×{gain:0.00}, ×{Math.Pow(gain, hidden.Count):0.0e+0} over {hidden.Count} layers";
    }

    /// <summary>Least squares y = a + b·x; returns (b, a, R²).</summary>
    private static (double Slope, double Intercept, double R2) Fit(IReadOnlyList<(double X, double Y)> points)
    {
        double mx = points.Average(p => p.X), my = points.Average(p => p.Y);
        double sxx = points.Sum(p => (p.X - mx) * (p.X - mx)), sxy = points.Sum(p => (p.X - mx) * (p.Y - my)), syy = points.Sum(p => (p.Y - my) * (p.Y - my));
        if (sxx == 0) return (0, my, 0);
        double b = sxy / sxx;
        double r2 = syy == 0 ? 0 : sxy * sxy / (sxx * syy);
        return (b, my - b * mx, r2);
    }
}
