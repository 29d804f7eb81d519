using GradientHooks.Clipping;
using TorchSharp;
using GradientHooks.Capture;
using GradientHooks.Guard;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks;

/// <summary>
/// An optimizer that wraps another: its <see cref="step"/> captures gradient statistics through the monitor (or
/// reuses the capture made since the last step), applies the clipping policy with the norms already computed,
/// skips the update when the policy says so (weights and optimizer state untouched), and otherwise steps the inner
/// optimizer. <see cref="zero_grad"/>, <see cref="parameters"/>, <see cref="ParamGroups"/> and state dictionaries
/// delegate, so learning-rate schedulers work on it unchanged. Create it with <see cref="GradientMonitor.Guard(TorchSharp.torch.optim.Optimizer, Clipping.IClippingPolicy?)"/>.
/// </summary>
public sealed class GuardedOptimizer : optim.Optimizer
{
    private readonly GradientMonitor _monitor;
    private readonly TrainingSnapshot? _snapshot;
    private readonly List<RollbackEvent> _rollbacks = new();
    private readonly AccumulationProbe _accumulation;
    private int _skipStreak;
    private int _appliedSinceSnapshot;
    private int _zeroGrads;   // zero_grad() calls since the last step()
    private long _steps;

    internal GuardedOptimizer(GradientMonitor monitor, optim.Optimizer inner, IClippingPolicy? clipping, RollbackOptions? rollback) : base(IntPtr.Zero)
    {
        _monitor = monitor;
        Inner = inner;
        Clipping = clipping;
        RollbackOptions = rollback;
        _accumulation = new AccumulationProbe(monitor.TrainableParameters);
        if (rollback != null)
        {
            var helper = inner as OptimizerHelper ?? throw new ArgumentException(
                $"Rollback needs an optimizer whose state TorchSharp implements in managed code (SGD, Adam, AdamW, RMSprop, ...); {inner.GetType().Name} is not one. Guard it without RollbackOptions.", nameof(inner));
            _snapshot = new TrainingSnapshot(monitor.TrainableParameters, helper);
            if (!_snapshot.TryTake(0))
                throw new ArgumentException("The model's weights or the optimizer's state already hold NaN/Inf: there is no good state to roll back to. Restore or re-initialise them first.", nameof(inner));
        }
    }

    /// <summary>The rollback settings, or null when the guard does not roll back.</summary>
    public RollbackOptions? RollbackOptions { get; }

    /// <summary>Every rollback so far, oldest first.</summary>
    public IReadOnlyList<RollbackEvent> Rollbacks => _rollbacks;

    /// <summary>The step after whose update the current rollback snapshot was taken (0 = at creation); null without rollback.</summary>
    public long? SnapshotStep => _snapshot?.Step;

    /// <summary>The wrapped optimizer.</summary>
    public optim.Optimizer Inner { get; }

    /// <summary>The clipping policy, or null for none.</summary>
    public IClippingPolicy? Clipping { get; }

    /// <summary>Steps whose update was skipped by the policy.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>Steps on which the policy changed the gradients.</summary>
    public long ClippedSteps { get; private set; }

    /// <summary>The record of the last step.</summary>
    public StepRecord? LastStep { get; private set; }

    internal bool IsDisposed { get; private set; }

    /// <summary>Capture, clip, then step the inner optimizer unless the policy skips the step.</summary>
    /// <param name="closure">Passed to the inner optimizer (e.g. for LBFGS).</param>
    /// <returns>What the inner optimizer returned, or null for a skipped step.</returns>
    public override Tensor step(Func<Tensor>? closure = null)
    {
        if (IsDisposed)
            throw new ObjectDisposedException(nameof(GuardedOptimizer),
                "This GuardedOptimizer was disposed (with the optimizer it wrapped). Create the optimizer again and guard it: monitor.Guard(optimizer, clipping).");
        var record = _monitor.TakePendingOrCapture();
        LastStep = record;
        // Were the gradients zeroed since the last update? Seen here when it went through this guard; the probe checks
        // the gradients themselves on steps where it did not (another zero_grad, or none at all).
        if (_steps > 0)
        {
            record.ZeroGradCalled = _zeroGrads > 0;
            if (_zeroGrads == 0) record.AccumulationRatio = _accumulation.Measure();
            else _accumulation.Reset();
        }
        _zeroGrads = 0;
        _steps++;
        if (Clipping != null)
        {
            var result = Clipping.Apply(_monitor.TrainableParameters, record);
            record.Clipping = result;
            if (result.Clipped) ClippedSteps++;
        }
        if (_snapshot != null) RollBackIfDamaged(record);
        Tensor? loss = null;
        if (record.Skipped) SkippedSteps++;
        else
        {
            _monitor.BeforeUpdate(record);
            loss = Inner.step(closure!);
            _monitor.AfterUpdate();
            if (_snapshot != null && ++_appliedSinceSnapshot >= RollbackOptions!.SnapshotEvery && _snapshot.TryTake(record.Step)) _appliedSinceSnapshot = 0;
        }
        _monitor.Seal(record);
        return loss!;
    }

    /// <summary>
    /// With rollback on: a step with NaN/Inf gradients is never applied; when the weights or optimizer state are
    /// non-finite (checked on such steps only), or <see cref="RollbackOptions.AfterSkippedSteps"/> updates in a row
    /// were skipped, the snapshot is restored and the step skipped.
    /// </summary>
    private void RollBackIfDamaged(StepRecord record)
    {
        var options = RollbackOptions!;
        if (record.HasNonFinite && !record.Skipped)
            record.Clipping = Skip(record.Clipping, record.TotalNorm, "non-finite gradients in " + string.Join(", ", record.NonFiniteParameters) + "; update skipped (rollback guard)");
        _skipStreak = record.Skipped ? _skipStreak + 1 : 0;
        string? reason = null;
        // The monitor already checked the weights on this non-finite step (StepRecord.Origin); only the state is left.
        if (record.Origin is { NonFiniteWeights.Count: > 0 } o)
            reason = $"weights {string.Join(", ", o.NonFiniteWeights)} hold NaN/Inf";
        else if (record.HasNonFinite && _snapshot!.OptimizerStateNonFinite())
            reason = "the optimizer state holds NaN/Inf";
        else if (options.AfterSkippedSteps > 0 && _skipStreak >= options.AfterSkippedSteps)
            reason = $"{_skipStreak} consecutive updates skipped";
        if (reason is null || _rollbacks.Count >= options.MaxRollbacks) return;

        _snapshot!.Restore();
        using (var scope = torch.NewDisposeScope())
        using (var noGrad = torch.no_grad())
            foreach (var p in _monitor.TrainableParameters) p.grad?.zero_();
        if (options.LearningRateFactor != 1)
            foreach (var group in Inner.ParamGroups) group.LearningRate *= options.LearningRateFactor;
        var ev = new RollbackEvent(record.Step, _snapshot.Step, reason, options.LearningRateFactor);
        _rollbacks.Add(ev);
        record.Rollback = ev;
        record.Clipping = Skip(record.Clipping, record.TotalNorm, $"rolled back to step {_snapshot.Step}: {reason}");
        _skipStreak = 0;
        _appliedSinceSnapshot = 0;
    }

    private static ClipResult Skip(ClipResult? previous, double norm, string reason) => previous is null
        ? new ClipResult(norm, norm, false, true, reason)
        : previous with { SkipStep = true, Reason = previous.Reason is null ? reason : previous.Reason + "; " + reason };

    /// <inheritdoc />
    public override void zero_grad()
    {
        _zeroGrads++;
        Inner.zero_grad();
    }

    /// <inheritdoc />
    public override IEnumerable<Parameter> parameters() => Inner.parameters();

    /// <inheritdoc />
    public override IEnumerable<optim.ILearningRateController> ParamGroups => Inner.ParamGroups;

    /// <inheritdoc />
    public override void add_param_group(ParamGroup param_group) => Inner.add_param_group(param_group);

    /// <summary>The inner optimizer's state dictionary (only optimizers implemented in managed code have one).</summary>
    /// <exception cref="NotSupportedException">The inner optimizer does not expose a state dictionary.</exception>
    public optim.Optimizer.StateDictionary state_dict() => AsHelper().state_dict();

    /// <summary>Loads a state dictionary into the inner optimizer.</summary>
    public void load_state_dict(optim.Optimizer.StateDictionary state) => AsHelper().load_state_dict(state);

    /// <summary>Saves the inner optimizer's state to a file.</summary>
    public void save_state_dict(string location) => AsHelper().save_state_dict(location);

    /// <summary>Loads the inner optimizer's state from a file.</summary>
    public void load_state_dict(string location) => AsHelper().load_state_dict(location);

    private OptimizerHelper AsHelper() => Inner as OptimizerHelper
        ?? throw new NotSupportedException($"The inner optimizer {Inner.GetType().Name} has no managed state dictionary.");

    /// <summary>Disposes the inner optimizer and detaches from the monitor (the monitor keeps its hooks).</summary>
    protected override void Dispose(bool disposing)
    {
        if (IsDisposed) return;
        IsDisposed = true;
        if (disposing)
        {
            _snapshot?.Dispose();
            _accumulation.Dispose();
            _monitor.Unguard(this);
            Inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
