using GradientHooks.Precision;
using static TorchSharp.torch;

namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Gradients of a float16 (or bfloat16) model that are mostly exactly zero because they fall below the format's smallest
/// subnormal (float16 2⁻²⁴ ≈ 6.0e-8), not because units are dead. A low-precision parameter underflows when, over the
/// window (medians), at least <see cref="DiagnosticThresholds.UnderflowZeroFraction"/> of its gradient elements are exactly
/// 0 beyond what dead units explain (a dead unit's whole row is zero at any precision; not subtracted when the output
/// layer, which has no dead units, underflows too) and its largest gradient, as stored
/// (times the loss scale in force), is below 2¹⁰ × the format's smallest normal (float16: 0.0625): the surviving values
/// are within a few binades of the bottom of the format, where the zeros came from. Critical when 90 % or more of the
/// low-precision gradient is zero this way, or the loss has not fallen; a Warning otherwise. The remedy is loss scaling
/// (a larger initial scale when a scaler is in force), or bfloat16, which has float32's range.
/// </summary>
internal sealed class GradientUnderflowRule : IDiagnosticRule
{
    /// <summary>How far above the smallest normal the largest stored gradient may be for zeros to count as underflow: 2¹⁰.</summary>
    private const double HeadroomBinades = 10;

    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var window = c.Window;
        if (window.Count == 0) yield break;
        var parameters = window[^1].Parameters;
        var low = Enumerable.Range(0, parameters.Count).Where(i => FloatFormat.IsLowPrecision(parameters[i].DType)).ToList();
        if (low.Count == 0) yield break;
        var start = c.FullSteps.Take(5).ToList();
        var deadByLayer = c.Units.GroupBy(u => u.Layer).ToDictionary(g => g.Key, g => g.Max(u => u.DeadFraction));
        var t = c.Thresholds;

        var measured = low.Select(i =>
        {
            var p = parameters[i];
            double zeros = DiagnosisContext.Median(window.Select(r => Fraction(r, i)));
            double atStart = start.Count > 0 ? DiagnosisContext.Median(start.Select(r => Fraction(r, i))) : zeros;
            double scaledMax = DiagnosisContext.Median(window.Select(r => r.Gradients[i].MaxAbs * (r.LossScale ?? 1)));
            bool nearBottom = scaledMax < FloatFormat.SmallestNormal(p.DType) * Math.Pow(2, HeadroomBinades);
            return (Index: i, Zeros: zeros, AtStart: atStart, ScaledMax: scaledMax, NearBottom: nearBottom);
        }).ToList();
        // Dead units zero whole rows at any precision and are subtracted, except when the output layer, which no
        // activation follows and so has no dead unit, is itself mostly zero near the bottom of the format: then the
        // "dead" rows upstream are underflow too.
        var outputLayer = c.Layers.Count > 0 ? c.Layers[^1].Layer : null;
        bool outputUnderflows = measured.Any(m => parameters[m.Index].Layer == outputLayer && m.Zeros >= t.UnderflowZeroFraction && m.NearBottom);
        var under = measured
            .Select(m => (m.Index, m.Zeros, m.AtStart, m.ScaledMax, Dead: outputUnderflows ? 0 : deadByLayer.GetValueOrDefault(parameters[m.Index].Layer), m.NearBottom))
            .Where(m => m.Zeros - m.Dead >= t.UnderflowZeroFraction && m.NearBottom)
            .Select(m => (m.Index, m.Zeros, m.AtStart, m.ScaledMax, m.Dead))
            .ToList();
        if (under.Count == 0) yield break;

        long lowElements = low.Sum(i => parameters[i].Count);
        double zeroShare = under.Sum(u => (u.Zeros - u.Dead) * parameters[u.Index].Count) / lowElements;
        bool learnedNothing = c.LearnedNothing(out var flat);
        var type = parameters[under[0].Index].DType;
        var scale = window[^1].LossScale;
        var evidence = new List<string>
        {
            $"{under.Count} of {low.Count} {Name(type)} parameter(s): gradient elements exactly 0 over the last {window.Count} steps (median; dead units subtracted), largest stored gradient{(scale is null ? "" : " × loss scale")}: " +
                string.Join(", ", under.OrderByDescending(u => parameters[u.Index].Count).Take(4).Select(u =>
                    $"{parameters[u.Index].Name} {u.Zeros:P0} ({u.AtStart:P0} over the first steps), {u.ScaledMax:0.0e+0}")) + (under.Count > 4 ? $" and {under.Count - 4} more" : ""),
            $"{Name(type)} stores nothing below {FloatFormat.SmallestSubnormal(type):0.0e+0} (its smallest subnormal) and loses precision below {FloatFormat.SmallestNormal(type):0.0e+0}: these gradients are rounded to 0, not computed as 0",
            scale is double s
                ? $"loss scale {s:G6} in force on the last step: the scaled gradients still underflow"
                : "the loss is not scaled",
            $"{zeroShare:P0} of the {Name(type)} gradient elements are lost this way",
        };
        if (learnedNothing) evidence.Add(flat);

        var remedies = new List<Remedy>();
        var advisor = new RemedyAdvisor(c.Profile);
        if (scale is double current)
        {
            // Bring the largest stored gradient up to about 2⁸ below float16's top: a factor of 2^k.
            double largest = under.Max(u => u.ScaledMax);
            int k = largest > 0 ? (int)Math.Ceiling(Math.Log2(FloatFormat.Largest(type) / 256 / largest)) : 16;
            double suggested = current * Math.Pow(2, Math.Clamp(k, 1, 40));
            remedies.Add(new Remedy("Larger loss scale",
                $"The scale in force ({current:G6}) leaves the gradients below float16's range; start higher and let it grow sooner: new LossScaler(initScale: {suggested:G6}, growthInterval: 200)") { Kind = RemedyKind.LossScaling });
        }
        else remedies.AddRange(advisor.For(RemedyKind.LossScaling));
        if (c.Profile is { MasterWeights: false, OptimizerEpsilon: not null }) remedies.AddRange(advisor.For(RemedyKind.MasterWeights));
        if (type == ScalarType.Float16)
            remedies.Add(new Remedy("bfloat16",
                "bfloat16 has float32's exponent range (smallest normal 1.2e-38), so gradients do not underflow, at the cost of precision: model.to(ScalarType.BFloat16) (with MasterWeights for the optimizer)") { Kind = RemedyKind.Other });

        var since = c.Onset(r => r.IsFull ? under.Any(u => Fraction(r, u.Index) - u.Dead >= t.UnderflowZeroFraction) : null);
        yield return new Finding(FindingKind.GradientUnderflow, zeroShare >= 0.9 || learnedNothing ? Severity.Critical : Severity.Warning,
            $"Gradient underflow: {zeroShare:P0} of the {Name(type)} gradients are exactly 0 because they are smaller than {Name(type)} can hold" +
                (scale is null ? "; the loss is not scaled." : $", even at loss scale {scale:G6}."),
            under.Select(u => parameters[u.Index].Layer).Distinct().ToList(), evidence, remedies) { Since = since };
    }

    private static double Fraction(StepRecord r, int i) => r.Gradients[i].Count == 0 ? 0 : (double)r.Gradients[i].ZeroCount / r.Gradients[i].Count;

    private static string Name(ScalarType type) => type == ScalarType.BFloat16 ? "bfloat16" : "float16";
}
