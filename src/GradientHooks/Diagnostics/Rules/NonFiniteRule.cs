namespace GradientHooks.Diagnostics.Rules;

/// <summary>NaN or Inf in any gradient of the history: names the first step and parameter, and counts the steps.</summary>
internal sealed class NonFiniteRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        // A loss-scale overflow is the scaler finding its level (the step is skipped, the scale backs off): not NaN in the
        // training, unless the weights, the input or the loss were non-finite themselves.
        var bad = c.History.Where(r => r.HasNonFinite && !DiagnosisContext.ScalerOverflowOnly(r)).ToList();
        if (bad.Count == 0) yield break;
        var first = bad[0];
        var name = first.NonFiniteParameters[0];
        long count = first.IsFull ? first[name].NonFiniteCount : 0;
        var evidence = new List<string>
        {
            $"first at step {first.Step}: {name}" + (count > 0 ? $" ({count} non-finite values)" : "") +
                (first.NonFiniteParameters.Count > 1 ? $", also {string.Join(", ", first.NonFiniteParameters.Skip(1))}" : ""),
            $"{bad.Count} step(s) with NaN/Inf gradients in the history; {bad.Count(r => r.Skipped)} of them skipped by the guard",
        };
        if (first.Loss is double l && !double.IsFinite(l)) evidence.Add($"the loss was {l} on that step");
        // Where it came from: the first traced step says the most, unless all it shows is weights that an earlier bad
        // update already made NaN (a consequence, not the cause); a non-finite input is a cause whatever the weights.
        var source = bad.FirstOrDefault(r => r.Origin is { Traced: true } o && (o.InputNonFinite == true || o.NonFiniteWeights.Count == 0))
            ?? (first.Origin is null ? null : first);
        if (source?.Origin is { } why) evidence.Insert(0, $"origin (step {source.Step}): {why.Cause}");
        var advisor = new RemedyAdvisor(c.Profile);
        bool weightsBroke = bad.Any(r => r.Origin is { NonFiniteWeights.Count: > 0 }) || bad.Any(r => !r.Skipped);
        var remedies = weightsBroke
            ? advisor.For(RemedyKind.SkipNonFinite, RemedyKind.Rollback, RemedyKind.LowerLearningRate, RemedyKind.CheckInputs)
            : advisor.For(RemedyKind.SkipNonFinite, RemedyKind.LowerLearningRate, RemedyKind.CheckInputs);
        if (c.Recurrent && advisor.RecurrentClipping() is { } clip) remedies.Insert(Math.Min(1, remedies.Count), clip);
        var allSkipped = bad.All(r => r.Skipped);
        yield return new Finding(FindingKind.NonFiniteGradients, allSkipped ? Severity.Warning : Severity.Critical,
            $"NaN/Inf gradients, first in {name} at step {first.Step}" + (allSkipped ? "; every such step was skipped, the weights are intact." : "."),
            first.NonFiniteParameters, evidence, remedies) { Since = first.Step };
    }
}
