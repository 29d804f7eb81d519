namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Exploding gradients, four ways: the total norm grows geometrically over the window (least-squares fit of
/// ln‖g‖ on the step), it spikes far above the running median of the steps before it, it rises by
/// <see cref="DiagnosticThresholds.GrowthMinRise"/> or more and then turns into NaN/Inf, or the first layer's gradient
/// RMS is far above the last layer's.
/// </summary>
internal sealed class ExplodingRule : IDiagnosticRule
{
    private const int SpikeLookback = 10;

    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var evidence = new List<string>();
        var layers = new List<string>();
        var severity = Severity.Warning;

        var points = c.Window.Where(r => double.IsFinite(r.TotalNorm) && r.TotalNorm > 0).Select(r => ((double)r.Step, Math.Log(r.TotalNorm))).ToList();
        if (points.Count >= 5)
        {
            var (slope, intercept, r2) = Fit(points);
            double rise = Math.Exp(slope * (points[^1].Item1 - points[0].Item1));
            if (slope > Math.Log(2) / t.GrowthDoublingSteps && r2 >= t.GrowthMinR2 && rise >= t.GrowthMinRise)
            {
                evidence.Add($"total gradient norm grows ×{Math.Exp(slope):0.###} per step (doubling every {Math.Log(2) / slope:0.#} steps, R² {r2:0.00}), ×{rise:0.0e+0} over steps {points[0].Item1}–{points[^1].Item1}; threshold: doubling within {t.GrowthDoublingSteps} steps");
                severity = Severity.Critical;
            }
        }
        // Spikes anywhere in the history (not only the window): an explosion the model never recovered from must
        // still be reported after the norms have settled. Each norm is judged against the running median of the
        // steps before it, so norms that fall as training converges are never spikes.
        var all = c.History.Where(r => r.IsFull && double.IsFinite(r.TotalNorm) && r.TotalNorm > 0).Select(r => (Step: r.Step, Norm: r.Clipping?.NormBefore ?? r.TotalNorm)).ToList();
        var spikes = new List<(long Step, double Norm, double Median)>();
        for (int i = SpikeLookback / 2; i < all.Count; i++)
        {
            double running = DiagnosisContext.Median(all.Skip(Math.Max(0, i - SpikeLookback)).Take(Math.Min(i, SpikeLookback)).Select(p => p.Norm));
            if (all[i].Norm > t.SpikeFactor * running) spikes.Add((all[i].Step, all[i].Norm, running));
        }
        if (spikes.Count > 0)
        {
            var worst = spikes.MaxBy(s => s.Norm / s.Median);
            evidence.Add($"{spikes.Count} spike(s) above {t.SpikeFactor}× the running median of the previous {SpikeLookback} steps (first at step {spikes[0].Step}); largest {worst.Norm:0.00e+0} at step {worst.Step} ({worst.Norm / worst.Median:0}× its median {worst.Median:0.00e+0})");
        }
        // Growth that ends in NaN/Inf: too few finite steps for a fit, but the rise before the first bad step says it.
        var firstBad = c.History.FirstOrDefault(r => r.HasNonFinite);
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
                    severity = Severity.Critical;
                }
            }
        }
        if (c.Layers.Count >= 2 && c.Layers[0].RatioToLast > t.ExplodingRatio)
        {
            evidence.Add($"first layer {c.Layers[0].Layer}: gradient RMS {c.Layers[0].RatioToLast:0.0e+0} × the last layer's (threshold {t.ExplodingRatio:0.#e+0}): gradients grow toward the input");
            layers.AddRange(c.Layers.Where(l => l.RatioToLast > t.ExplodingRatio).Select(l => l.Layer));
            severity = Severity.Critical;
        }
        var clipped = c.Window.Count(r => r.Clipping?.Clipped == true);
        if (evidence.Count == 0) yield break;
        // One spike and nothing else (no growth, no NaN, no input-side excess): mini-batch SGD meets a hard batch now
        // and then. Reported, but as information: it does not make the run unhealthy.
        var isolated = severity == Severity.Warning && evidence.Count == 1 && spikes.Count == 1;
        if (isolated) severity = Severity.Info;
        if (clipped > 0) evidence.Add($"{clipped} of {c.Window.Count} steps were clipped");
        if (layers.Count == 0) layers.AddRange(c.Layers.Select(l => l.Layer));

        var remedies = c.Recurrent
            ? new List<Remedy> { Remedies.RecurrentClipping, Remedies.LowerLearningRate, Remedies.XavierInit }
            : new List<Remedy> { Remedies.GlobalNormClipping, Remedies.LowerLearningRate, Remedies.HeInit, Remedies.BatchNorm };
        yield return new Finding(FindingKind.ExplodingGradients, severity,
            isolated ? "One isolated gradient spike; the norms came back down."
                : "Exploding gradients: gradient norms are growing out of control" + (c.Recurrent ? " (recurrent layers present)." : "."),
            layers, evidence, remedies);
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
