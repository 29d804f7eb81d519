using GradientHooks.Clipping;
using TorchSharp;
using GradientHooks.Capture;
using GradientHooks.Guard;
using GradientHooks.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks;

/// <summary>
/// An optimizer that wraps another: its <see cref="step"/> captures gradient statistics through the monitor (or
/// reuses the capture made since the last step), applies the clipping policy with the norms already computed,
/// skips the update when the policy says so (weights and optimizer state untouched), and otherwise steps the inner
/// optimizer. <see cref="zero_grad"/>, <see cref="parameters"/>, <see cref="ParamGroups"/> and state dictionaries
/// delegate, so learning-rate schedulers work on it unchanged. Create it with <see cref="GradientMonitor.Guard(TorchSharp.torch.optim.Optimizer, Clipping.IClippingPolicy?)"/>.
/// <para>With a <see cref="Precision.LossScaler"/> (<see cref="GuardOptions.LossScaler"/>) a step whose scaled gradients
/// overflowed is skipped and the scale backs off; otherwise the gradients were already divided by the scale in the
/// monitor's capture. With <see cref="Precision.MasterWeights"/> the inner optimizer steps the float32 masters and the
/// guard writes them back into the model after each applied update.</para>
/// </summary>
public sealed partial class GuardedOptimizer : optim.Optimizer
{
    private readonly GradientMonitor _monitor;
    private readonly TrainingSnapshot? _snapshot;
    private readonly List<RollbackEvent> _rollbacks = new();
    private readonly AccumulationProbe _accumulation;
    private int _skipStreak;
    private int _appliedSinceSnapshot;
    private int _zeroGrads;   // zero_grad() calls since the last step()
    private long _steps;

    internal GuardedOptimizer(GradientMonitor monitor, optim.Optimizer inner, IClippingPolicy? clipping, GuardOptions options) : base(IntPtr.Zero)
    {
        _monitor = monitor;
        Inner = inner;
        Clipping = clipping;
        RollbackOptions = options.Rollback;
        LossScaler = options.LossScaler;
        MasterWeights = options.MasterWeights;
        _accumulation = new AccumulationProbe(monitor.TrainableParameters);
        if (RollbackOptions != null)
        {
            var helper = inner as OptimizerHelper ?? throw new ArgumentException(
                $"Rollback needs an optimizer whose state TorchSharp implements in managed code (SGD, Adam, AdamW, RMSprop, ...); {inner.GetType().Name} is not one. Guard it without RollbackOptions.", nameof(inner));
            // With master weights the optimizer's weights are the float32 masters: those are kept and restored.
            _snapshot = new TrainingSnapshot(MasterWeights?.Parameters.ToArray() ?? monitor.TrainableParameters, helper);
            if (!_snapshot.TryTake(0))
                throw new ArgumentException("The model's weights or the optimizer's state already hold NaN/Inf: there is no good state to roll back to. Restore or re-initialise them first.", nameof(inner));
        }
        if (LossScaler != null) LossScaler.Owner = this;
    }

    /// <summary>The monitor this guard captures through.</summary>
    internal GradientMonitor Monitor => _monitor;

    /// <summary>The dynamic loss scaler, or null when the loss is not scaled.</summary>
    public LossScaler? LossScaler { get; }

    /// <summary>The float32 master weights the inner optimizer steps, or null when it steps the model's parameters.</summary>
    public MasterWeights? MasterWeights { get; }

    /// <summary>The parameters whose gradients the clipping policy changes and the inner optimizer applies: the masters, or the model's.</summary>
    private IReadOnlyList<Parameter> SteppedParameters => MasterWeights?.Parameters ?? _monitor.TrainableParameters;

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
        // Scaled gradients that overflowed: GradScaler's rule skips the update (and keeps them from clipping policies'
        // statistics); the scale backs off below.
        bool overflow = record.LossScaleOverflow;
        if (overflow)
            record.Clipping = Skip(record.Clipping, record.TotalNorm,
                $"loss scale {record.LossScale:G6} overflowed (Inf/NaN in {string.Join(", ", record.NonFiniteParameters.Take(3))}{(record.NonFiniteParameters.Count > 3 ? ", …" : "")}); update skipped, scale × {LossScaler!.BackoffFactor:G3}");
        else if (Clipping != null)
        {
            var result = Clipping.Apply(SteppedParameters, record);
            record.Clipping = result;
            if (result.Clipped) ClippedSteps++;
        }
        if (_snapshot != null) RollBackIfDamaged(record);
        if (record.LossScale is not null) LossScaler!.Update(foundInf: overflow);
        Tensor? loss = null;
        if (record.Skipped) SkippedSteps++;
        else
        {
            _monitor.BeforeUpdate(record);
            loss = Inner.step(closure!);
            if (MasterWeights != null)
                using (torch.no_grad()) MasterWeights.CopyToModel();
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
        // A loss-scale overflow is the scaler at work, not damage: it does not count toward AfterSkippedSteps.
        if (!record.LossScaleOverflow) _skipStreak = record.Skipped ? _skipStreak + 1 : 0;
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
        {
            MasterWeights?.CopyToModel();
            foreach (var p in _monitor.TrainableParameters) p.grad?.zero_();
        }
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
        // The inner optimizer zeroes the masters' gradients; the model's low-precision gradients are the ones backward() fills.
        if (MasterWeights != null)
            using (var scope = torch.NewDisposeScope())
            using (torch.no_grad())
                for (int i = 0; i < MasterWeights.Parameters.Count; i++)
                    if (MasterWeights.IsCopied(i)) MasterWeights.ModelParameters[i].grad?.zero_();
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

    /// <summary>
    /// Saves the inner optimizer's state to a file, followed by the loss scaler's (<see cref="LossScalerState"/>) when
    /// the guard has one, as PyTorch checkpoints save <c>scaler.state_dict()</c> with the optimizer's.
    /// </summary>
    public void save_state_dict(string location)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        using var stream = File.Create(location);
        using var writer = new BinaryWriter(stream);
        save_state_dict(writer);
    }

    /// <summary>Writes the inner optimizer's state, then a marker and the loss scaler's state when the guard has one.</summary>
    public void save_state_dict(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        AsHelper().save_state_dict(writer);
        writer.Write(LossScaler is null ? NoScalerMarker : ScalerMarker);
        LossScaler?.StateDict().Write(writer);
    }

    /// <summary>Loads what <see cref="save_state_dict(string)"/> wrote: the inner optimizer's state, and the loss scaler's when both file and guard have one.</summary>
    /// <exception cref="InvalidDataException">The file holds a scaler state and this guard has no scaler, or the other way round; the message names the file.</exception>
    public void load_state_dict(string location)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        using var stream = File.OpenRead(location);
        using var reader = new BinaryReader(stream);
        try { load_state_dict(reader); }
        catch (InvalidDataException e) { throw new InvalidDataException($"'{Path.GetFullPath(location)}': {e.Message}", e); }
    }

    /// <summary>Reads what <see cref="save_state_dict(BinaryWriter)"/> wrote.</summary>
    public void load_state_dict(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        AsHelper().load_state_dict(reader);
        int marker = reader.BaseStream.Position < reader.BaseStream.Length ? reader.ReadInt32() : NoScalerMarker;   // files of TorchSharp's own save_state_dict end here
        if (marker == ScalerMarker)
        {
            var state = LossScalerState.Read(reader);
            if (LossScaler is null)
                throw new InvalidDataException("the saved state has a loss scaler's state (scale " + state.Scale + ") and this guard has no LossScaler; guard with GuardOptions { LossScaler = new LossScaler(...) }.");
            LossScaler.LoadStateDict(state);
        }
        else if (marker != NoScalerMarker)
            throw new InvalidDataException("the saved optimizer state is followed by data that is not a GradientHooks loss-scaler state.");
        else if (LossScaler is not null)
            throw new InvalidDataException("the saved state has no loss scaler's state and this guard has a LossScaler; it would start again from its initial scale. Load a state saved with the scaler.");
    }

    private const int ScalerMarker = 0x4C53_4748;     // "GHSL"
    private const int NoScalerMarker = 0x4E53_4748;   // "GHSN"

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
            if (LossScaler != null && ReferenceEquals(LossScaler.Owner, this)) LossScaler.Owner = null;
            _monitor.Unguard(this);
            Inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
