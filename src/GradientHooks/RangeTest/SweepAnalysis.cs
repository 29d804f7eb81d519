using GradientHooks.Diagnostics;
using GradientHooks.Diagnostics.Rules;

namespace GradientHooks.RangeTest;

/// <summary>
/// The judgement of a learning-rate sweep's losses: when they diverged, how they are smoothed, and the rates to suggest.
/// Pure functions of the curve, so that each law is tested on its own.
/// </summary>
internal static class SweepAnalysis
{
    /// <summary>
    /// The block length of the divergence rule for a sweep of <paramref name="steps"/> steps: max(5, steps / 10). A
    /// median of 10 mini-batch losses is steady enough that noise does not double it (a median of 4 with a log-spread of
    /// 0.3 did, in the property test).
    /// </summary>
    public static int Block(int steps) => Math.Max(5, steps / 10);

    /// <summary>
    /// The divergence rule of the diagnosis (<see cref="LossRule"/>), applied to the losses so far: the last loss is not
    /// finite, or the median of the last <paramref name="block"/> losses is above <paramref name="factor"/> × the lowest
    /// median of the earlier non-overlapping blocks, by at least 4 standard errors of the loss noise
    /// (<see cref="LossRule.LogSpread"/>, <see cref="LossRule.Significant"/>). Returns the index of the first loss of the
    /// last block above factor × best (where the divergence began), or null.
    /// </summary>
    public static int? Divergence(IReadOnlyList<double> losses, int block, double factor)
    {
        int n = losses.Count;
        if (n == 0) return null;
        if (!double.IsFinite(losses[^1])) return n - 1;
        if (n < 2 * block) return null;
        var earlier = losses.Take(n - block).Select((l, i) => ((long)i, l)).ToList();
        var best = LossRule.BestBlockMedian(earlier, block);
        if (!double.IsFinite(best.Loss)) return null;
        double late = DiagnosisContext.Median(losses.Skip(n - block));
        if (!(late > factor * best.Loss)) return null;
        if (best.Loss > 0 && !LossRule.Significant(late, best.Loss, LossRule.LogSpread(losses), block, block)) return null;
        for (int i = n - block; i < n; i++) if (losses[i] > factor * best.Loss) return i;
        return n - 1;
    }

    /// <summary>
    /// A lag-free smoothing: a running median of 3 (one outlying batch does not move it), then a centred moving average
    /// over <paramref name="window"/> points (fewer at the ends), on ln(loss) when every loss is positive.
    /// </summary>
    public static double[] Smooth(IReadOnlyList<double> losses, int window)
    {
        int n = losses.Count;
        bool log = losses.All(l => l > 0);
        var x = losses.Select(l => log ? Math.Log(l) : l).ToArray();
        var median = new double[n];
        for (int i = 0; i < n; i++)
            median[i] = i == 0 || i == n - 1 ? x[i] : DiagnosisContext.Median(new[] { x[i - 1], x[i], x[i + 1] });
        int half = window / 2;
        var smooth = new double[n];
        for (int i = 0; i < n; i++)
        {
            int lo = Math.Max(0, i - half), hi = Math.Min(n - 1, i + half);
            int h = Math.Min(i - lo, hi - i);   // symmetric, so the average does not lean towards either side
            double sum = 0;
            for (int j = i - h; j <= i + h; j++) sum += median[j];
            smooth[i] = sum / (2 * h + 1);
        }
        return log ? smooth.Select(Math.Exp).ToArray() : smooth;
    }

    /// <summary>
    /// The index of the lowest smoothed loss and, before it, of the steepest fall: the most negative central difference
    /// of the smoothed log-loss against ln(rate), over the points whose smoothing window is complete. Nulls when the
    /// loss never fell below its start.
    /// </summary>
    public static (int? Steepest, int? Minimum) Suggestions(IReadOnlyList<double> rates, IReadOnlyList<double> smoothed, int window, double initialLoss)
    {
        int n = smoothed.Count;
        if (n < 3) return (null, null);
        int minimum = 0;
        for (int i = 1; i < n; i++) if (smoothed[i] < smoothed[minimum]) minimum = i;
        if (!(smoothed[minimum] < initialLoss)) return (null, null);
        bool log = smoothed.All(l => l > 0);
        double Y(int i) => log ? Math.Log(smoothed[i]) : smoothed[i];
        int first = Math.Max(1, window / 2);
        int? steepest = null;
        double slope = 0;
        for (int i = first; i <= Math.Min(minimum, n - 2); i++)
        {
            double s = (Y(i + 1) - Y(i - 1)) / (Math.Log(rates[i + 1]) - Math.Log(rates[i - 1]));
            if (s < slope) { slope = s; steepest = i; }
        }
        return (steepest, minimum);
    }
}
