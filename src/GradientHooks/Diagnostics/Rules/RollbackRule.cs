namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// The guard rolled training back (<see cref="RollbackOptions"/>): a Warning naming every rollback with its step, the
/// step it restored and the reason. Training went on from a good state, but something damaged it and may again.
/// </summary>
internal sealed class RollbackRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var rollbacks = c.Profile?.Rollbacks;
        if (rollbacks is not { Count: > 0 }) yield break;
        var first = rollbacks[0];
        var evidence = rollbacks.Select(r => r.ToString()).ToList();
        var remedies = new RemedyAdvisor(c.Profile).For(RemedyKind.LowerLearningRate, RemedyKind.CheckInputs);
        yield return new Finding(FindingKind.TrainingRolledBack, Severity.Warning,
            $"The guard rolled training back {rollbacks.Count} time(s), first at step {first.Step} to step {first.RestoredStep}: {first.Reason}.",
            Array.Empty<string>(), evidence, remedies) { Since = first.Step };
    }
}
