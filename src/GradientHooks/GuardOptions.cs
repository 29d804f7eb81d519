using GradientHooks.Precision;

namespace GradientHooks;

/// <summary>
/// What a <see cref="GuardedOptimizer"/> does besides clipping, for
/// <c>monitor.Guard(optimizer, clipping, new GuardOptions { ... })</c>: roll back damaged training
/// (<see cref="Rollback"/>), scale the loss for float16 (<see cref="LossScaler"/>), step float32 master weights of a
/// float16/bfloat16 model (<see cref="MasterWeights"/>).
/// </summary>
public sealed record GuardOptions
{
    /// <summary>Keep the last good weights and optimizer state and restore them when training is damaged; null (default) for no rollback.</summary>
    public RollbackOptions? Rollback { get; init; }

    /// <summary>
    /// Dynamic loss scaling (GradScaler's algorithm): the guard divides the gradients by the scale the backward used,
    /// inside the monitor's capture, skips a step whose scaled gradients overflowed and updates the scale. One scaler per guard.
    /// </summary>
    public LossScaler? LossScaler { get; init; }

    /// <summary>Float32 copies of a low-precision model's parameters; the optimizer must step <see cref="MasterWeights.parameters"/>.</summary>
    public MasterWeights? MasterWeights { get; init; }
}
