namespace GradientHooks.Diagnostics.Rules;

/// <summary>Saturation: sigmoid/tanh layers whose median fraction of saturated outputs exceeds the threshold.</summary>
internal sealed class SaturationRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var saturated = c.ActivationMedians(a => a.SaturatedFraction).Where(a => a.Median > t.SaturatedFraction).ToList();
        if (saturated.Count == 0) yield break;
        var evidence = saturated.Select(s => $"{s.Example.Module} ({s.Example.Activation}): median {s.Median:P0} of outputs where the derivative is below 1% of its peak (threshold {t.SaturatedFraction:P0})").ToList();
        evidence.Add("σ'(x) = σ(x)(1 − σ(x)) ≤ 0.25 and σ'(5) ≈ 0.0066: a saturated unit passes almost no gradient");
        yield return new Finding(FindingKind.SaturatedActivations, Severity.Warning,
            $"Saturated activations in {string.Join(", ", saturated.Select(s => s.Example.Module))}: most outputs sit on the flat part of the curve.",
            saturated.Select(s => s.Example.Module).ToList(), evidence,
            new List<Remedy> { Remedies.BatchNorm, Remedies.XavierInit, Remedies.SwapToRelu });
    }
}
