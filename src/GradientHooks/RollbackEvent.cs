namespace GradientHooks;

/// <summary>One rollback of the guard: on <paramref name="Step"/> the weights and optimizer state of <paramref name="RestoredStep"/> were put back.</summary>
/// <param name="Step">The step on which the rollback happened (its update was not applied).</param>
/// <param name="RestoredStep">The step after whose update the restored snapshot was taken (0 = the state when the guard was created).</param>
/// <param name="Reason">Why: non-finite weights or optimizer state, or K consecutive skipped steps.</param>
/// <param name="LearningRateFactor">The factor every parameter group's learning rate was multiplied by (1 = unchanged).</param>
public sealed record RollbackEvent(long Step, long RestoredStep, string Reason, double LearningRateFactor)
{
    /// <inheritdoc />
    public override string ToString() => $"step {Step}: rolled back to step {RestoredStep} ({Reason})" + (LearningRateFactor != 1 ? $", learning rate ×{LearningRateFactor:G3}" : "");
}
