using GradientHooks.Precision;

namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// An adaptive optimizer (Adam, AdamW, RMSprop, Adagrad) stepping float16 parameters itself, without float32 master
/// weights: its ε, stored in float16, is 0 when below 2⁻²⁵ (Adam's 1e-8 is), so the update m̂ / (√v̂ + ε) of a parameter
/// whose gradient and second moment are 0 (an input pixel that is always 0, a dead unit, an underflowed gradient) is
/// 0/0 = NaN. Critical, and the root cause, when weights turned NaN; information when they have not (yet).
/// </summary>
internal sealed class LowPrecisionOptimizerRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        if (c.Profile is not { MasterWeights: false, OptimizerEpsilon: double eps, Optimizer: { } optimizer } || c.History.Count == 0) yield break;
        var parameters = c.History[0].Parameters;
        var half = parameters.Where(p => FloatFormat.IsLowPrecision(p.DType) && FloatFormat.RoundTo(eps, p.DType) == 0).ToList();
        if (half.Count == 0) yield break;
        var type = half[0].DType;
        string typeName = type == TorchSharp.torch.ScalarType.BFloat16 ? "bfloat16" : "float16";
        var evidence = new List<string>
        {
            $"{optimizer} steps {half.Count} {typeName} parameter(s) itself ({string.Join(", ", half.Take(3).Select(p => p.Name))}{(half.Count > 3 ? ", …" : "")}); its ε = {eps:0.0e+0} is {FloatFormat.RoundTo(eps, type):0.0e+0} in {typeName} (smallest subnormal {FloatFormat.SmallestSubnormal(type):0.0e+0})",
            "a parameter whose gradient and second moment are 0 is then updated by m̂ / (√v̂ + ε) = 0 / 0 = NaN, and updates smaller than half a float16 ulp of the weight are rounded away",
        };
        // The damage: weights that turned NaN (seen as the origin of NaN gradients), or a NaN loss after the first update.
        var broken = c.History.FirstOrDefault(r => r.Origin is { NonFiniteWeights.Count: > 0 });
        var nanLoss = c.History.FirstOrDefault(r => r.Loss is double l && !double.IsFinite(l));
        var first = new[] { broken, nanLoss }.OfType<StepRecord>().OrderBy(r => r.Step).FirstOrDefault();
        var remedies = new RemedyAdvisor(c.Profile).For(RemedyKind.MasterWeights);
        if (first is null)
        {
            yield return new Finding(FindingKind.LowPrecisionOptimizer, Severity.Info,
                $"{optimizer} steps {typeName} weights directly: its ε rounds to 0, so a zero gradient would turn a weight NaN; none has yet.",
                half.Select(p => p.Layer).Distinct().ToList(), evidence, remedies);
            yield break;
        }
        if (broken?.Origin is { } o)
            evidence.Insert(0, $"step {broken.Step}: weights {string.Join(", ", o.NonFiniteWeights.Take(4))}{(o.NonFiniteWeights.Count > 4 ? $" and {o.NonFiniteWeights.Count - 4} more" : "")} hold NaN/Inf after the update before it");
        else evidence.Insert(0, $"step {nanLoss!.Step}: the loss is {nanLoss.Loss}");
        long since = Math.Max(1, first.Step - 1);   // the update that did it came before the step that saw it
        yield return new Finding(FindingKind.LowPrecisionOptimizer, Severity.Critical,
            $"{optimizer} steps {typeName} weights directly: its ε ({eps:0.0e+0}) is 0 in {typeName}, and 0/0 turned weights NaN by step {first.Step}.",
            half.Select(p => p.Layer).Distinct().ToList(), evidence, remedies) { Since = since };
    }
}
