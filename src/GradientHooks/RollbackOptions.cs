namespace GradientHooks;

/// <summary>
/// Rollback for a <see cref="GuardedOptimizer"/> (<c>monitor.Guard(optimizer, clipping, new RollbackOptions())</c>):
/// the guard keeps the last good weights and optimizer state and puts them back when training has been damaged.
/// <para>Snapshot: when the guard is created, then after every <see cref="SnapshotEvery"/>-th applied update whose
/// gradients were finite, provided the weights and the optimizer state are finite. The copy lives on the tensors'
/// own device and is refreshed in place: memory = one copy of every trainable parameter plus one of every optimizer
/// state tensor (SGD with momentum 2× the model, Adam 3×, counting the live weights).</para>
/// <para>Rollback: on a step whose gradients are non-finite when the weights or the optimizer state hold NaN/Inf
/// (checked only then), or when <see cref="AfterSkippedSteps"/> updates in a row were skipped by the clipping
/// policy. The step's update is skipped, the snapshot restored (weights and state bit-identical to it), every
/// parameter group's learning rate multiplied by <see cref="LearningRateFactor"/>, and the event recorded in
/// <see cref="StepRecord.Rollback"/>, <see cref="GuardedOptimizer.Rollbacks"/> and the diagnosis.</para>
/// </summary>
public sealed record RollbackOptions
{
    /// <summary>Applied updates between snapshots. Default 100; at least 1. Smaller loses less progress and costs a copy more often.</summary>
    public int SnapshotEvery { get; init; } = 100;

    /// <summary>Roll back after this many consecutive skipped updates; 0 = only on non-finite weights or state. Default 10.</summary>
    public int AfterSkippedSteps { get; init; } = 10;

    /// <summary>Multiplies every parameter group's learning rate at each rollback, in (0, 1]. Default 1 (unchanged); 0.5 halves it.</summary>
    public double LearningRateFactor { get; init; } = 1.0;

    /// <summary>Rollbacks allowed in one run; past this the guard stops rolling back and only skips. Default 10; at least 1.</summary>
    public int MaxRollbacks { get; init; } = 10;

    internal void Validate()
    {
        if (SnapshotEvery < 1)
            throw new ArgumentOutOfRangeException(nameof(SnapshotEvery), SnapshotEvery, "RollbackOptions.SnapshotEvery must be at least 1.");
        if (AfterSkippedSteps < 0)
            throw new ArgumentOutOfRangeException(nameof(AfterSkippedSteps), AfterSkippedSteps, "RollbackOptions.AfterSkippedSteps must be >= 0 (0 = only on non-finite weights or state).");
        if (!(LearningRateFactor > 0 && LearningRateFactor <= 1))
            throw new ArgumentOutOfRangeException(nameof(LearningRateFactor), LearningRateFactor, "RollbackOptions.LearningRateFactor must be in (0, 1].");
        if (MaxRollbacks < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxRollbacks), MaxRollbacks, "RollbackOptions.MaxRollbacks must be at least 1.");
    }
}
