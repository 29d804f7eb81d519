using GradientHooks.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks;

/// <summary>
/// An optimizer that wraps another: its <see cref="step"/> captures gradient statistics through the monitor (or
/// reuses the capture made since the last step), applies the clipping policy with the norms already computed,
/// skips the update when the policy says so (weights and optimizer state untouched), and otherwise steps the inner
/// optimizer. <see cref="zero_grad"/>, <see cref="parameters"/>, <see cref="ParamGroups"/> and state dictionaries
/// delegate, so learning-rate schedulers work on it unchanged. Create it with <see cref="GradientMonitor.Guard"/>.
/// </summary>
public sealed class GuardedOptimizer : optim.Optimizer
{
    private readonly GradientMonitor _monitor;

    internal GuardedOptimizer(GradientMonitor monitor, optim.Optimizer inner, IClippingPolicy? clipping) : base(IntPtr.Zero)
    {
        _monitor = monitor;
        Inner = inner;
        Clipping = clipping;
    }

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
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var record = _monitor.TakePendingOrCapture();
        LastStep = record;
        if (Clipping != null)
        {
            var result = Clipping.Apply(_monitor.TrainableParameters, record);
            record.Clipping = result;
            if (result.Clipped) ClippedSteps++;
        }
        Tensor? loss = null;
        if (record.Skipped) SkippedSteps++;
        else
        {
            _monitor.BeforeUpdate(record);
            loss = Inner.step(closure!);
            _monitor.AfterUpdate();
        }
        _monitor.Seal(record);
        return loss!;
    }

    /// <inheritdoc />
    public override void zero_grad() => Inner.zero_grad();

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
            _monitor.Unguard(this);
            Inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
