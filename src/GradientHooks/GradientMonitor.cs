using System.Runtime.CompilerServices;
using GradientHooks.Clipping;
using GradientHooks.Capture;
using GradientHooks.Hooks;
using GradientHooks.ModelReading;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks;

/// <summary>
/// Gradient hooks for a TorchSharp model. TorchSharp has no backward hooks, so the monitor reads every trainable
/// parameter's <c>grad</c> once per step (<see cref="Capture(double?)"/> after <c>loss.backward()</c>, or
/// automatically inside a <see cref="GuardedOptimizer"/>'s <c>step()</c>), reduces it on its own device to
/// sufficient statistics and brings them to .NET in one transfer. Forward hooks on activation modules record dead
/// and saturated units; those fire only when modules are invoked through <c>module.call(x)</c>, which is how
/// <c>Sequential</c> calls its children (a direct <c>forward(x)</c> call bypasses hooks).
/// </summary>
/// <example>
/// <code>
/// using var monitor = GradientMonitor.Attach(model);
/// var optimizer = monitor.Guard(torch.optim.Adam(model.parameters(), 1e-3), Clip.GlobalNorm(1.0));
/// // unchanged loop: zero_grad, forward, loss.backward(), optimizer.step()
/// </code>
/// </example>
public sealed partial class GradientMonitor : IDisposable
{
    private static readonly ConditionalWeakTable<Module, GradientMonitor> Attached = new();
    private static readonly object AttachLock = new();

    private readonly Module _model;
    private readonly Parameter[] _parameters;
    private readonly GradientReducer _reducer;
    private readonly StepRing _history;
    private readonly ActivationTracker? _activations;
    private OutputGradientTracker? _outputs;   // taps of ∂L/∂h: automatic (TrackOutputGradients) or through Tap
    private readonly UpdateTracker? _updates;
    private readonly UnitLayer[] _units;
    private NonFiniteTracer? _tracer;
    private FirstForwardProbe? _firstForward;   // removed once the layer order and the input's scale are known
    private LayerOrder? _order;
    private int[] _flow = Array.Empty<int>();  // parameter indices in data-flow order
    private Diagnostics.ModelProfile _profile = new();
    private long _fullSteps;
    private GuardedOptimizer? _guard;
    private StepRecord? _pending;      // captured, not yet consumed by the guard
    private long _step;
    private bool _disposed;
    private readonly NoiseScaleTracker? _noise;   // MonitorOptions.TrackNoiseScale

    private GradientMonitor(Module model, MonitorOptions options, Parameter[] parameters, ParameterInfo[] infos, string[] frozen)
    {
        _model = model;
        Options = options;
        _parameters = parameters;
        Parameters = infos;
        FrozenParameters = frozen;
        _units = UnitLayer.Find(model, infos.Select(i => i.Name).ToArray(), infos.Select(i => i.Shape).ToArray());
        _reducer = new GradientReducer(parameters, _units, torch.get_num_threads(), options.FusedReduction);
        _history = new StepRing(options.HistoryLength);
        _flow = Enumerable.Range(0, parameters.Length).ToArray();
        if (options.TrackUpdates) _updates = new UpdateTracker(parameters, options.UpdateRatioSampleSize);
        if (options.TrackActivations) _activations = new ActivationTracker(options.SaturationDerivativeFraction);
        if (options.TrackNoiseScale) _noise = new NoiseScaleTracker(parameters, infos, options.NoiseScaleSmoothing);
    }

    /// <summary>
    /// Attaches a monitor to <paramref name="model"/>: records its trainable parameters (those with
    /// <c>requires_grad</c>) and, when <see cref="MonitorOptions.TrackActivations"/>, adds a forward hook to every
    /// ReLU, ReLU6, LeakyReLU, Sigmoid and Tanh module. Dispose the monitor to remove every hook.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentException">The model has no trainable parameter.</exception>
    /// <exception cref="InvalidOperationException">A monitor is already attached to this model.</exception>
    public static GradientMonitor Attach(Module model, MonitorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new MonitorOptions();
        options.Validate();

        var parameters = new List<Parameter>();
        var infos = new List<ParameterInfo>();
        var frozen = new List<string>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) { frozen.Add(name); continue; }
            parameters.Add(p);
            infos.Add(new ParameterInfo(name, ParameterInfo.LayerOf(name), p.shape, p.numel()) { DType = p.dtype });
        }
        if (parameters.Count == 0)
            throw new ArgumentException(
                $"Model '{ModelName(model)}' has no trainable parameters (found {frozen.Count} with requires_grad = false). " +
                "Attach the monitor to a model whose parameters require gradients.", nameof(model));

        lock (AttachLock)
        {
            if (Attached.TryGetValue(model, out _))
                throw new InvalidOperationException(
                    $"Model '{ModelName(model)}' already has a GradientMonitor attached. Dispose that monitor before attaching another.");
            var monitor = new GradientMonitor(model, options, parameters.ToArray(), infos.ToArray(), frozen.ToArray());
            if (monitor._activations != null)
            {
                monitor._activations.Attach(model);   // removes what it added if it fails
                monitor._activations.Armed = monitor.IsFullStep(1);
            }
            if (options.TrackOutputGradients)
            {
                monitor._outputs = new OutputGradientTracker { Armed = monitor.IsFullStep(1) };
                try { monitor._outputs.Attach(model); }
                catch { monitor._activations?.Dispose(); throw; }
            }
            try
            {
                monitor._profile = ModelProfiler.Profile(model, monitor._units, monitor._parameters, monitor._activations?.HookedPaths ?? new HashSet<string>());
                if (options.DetectLayerOrder)
                {
                    monitor._firstForward = new FirstForwardProbe(FirstSteps);
                    monitor._firstForward.Attach(model);
                }
                if (options.TraceNonFinite != NonFiniteTraceMode.Off) monitor._tracer = new NonFiniteTracer(model, options.TraceNonFinite, options.NonFiniteTraceSteps);
            }
            catch
            {
                monitor._activations?.Dispose();   // a failed attach leaves the model as it was
                monitor._outputs?.Dispose();
                monitor._firstForward?.Dispose();
                throw;
            }
            Attached.Add(model, monitor);
            return monitor;
        }
    }

    /// <summary>The options this monitor was attached with.</summary>
    public MonitorOptions Options { get; }

    /// <summary>Trainable parameters, in <c>named_parameters</c> order.</summary>
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    /// <summary>Parameters with <c>requires_grad == false</c>: not monitored.</summary>
    public IReadOnlyList<string> FrozenParameters { get; }

    /// <summary>Number of activation modules with a forward hook.</summary>
    public int HookedActivationCount => _activations?.Count ?? 0;

    /// <summary>Errors raised inside activation hooks (e.g. an output that is not a tensor of rank ≥ 1); the module's statistics are switched off, the forward pass is never interrupted.</summary>
    public IReadOnlyList<string> ActivationHookErrors => _activations is null ? HookErrors : _activations.Errors.Concat(HookErrors).ToList();

    /// <summary>Errors of the first-forward probe (layer order, input scale); the forward pass is never interrupted.</summary>
    private List<string> HookErrors { get; } = new();

    /// <summary>Captured steps, oldest first, at most <see cref="MonitorOptions.HistoryLength"/>. Holds full steps and any step with NaN/Inf.</summary>
    public IReadOnlyList<StepRecord> History => _history;

    /// <summary>Number of steps captured so far (full or not).</summary>
    public long StepCount => _step;

    /// <summary>
    /// Raised when a step's record is complete: at <see cref="Capture(double?)"/> without a guarded optimizer, at the
    /// end of <see cref="GuardedOptimizer.step"/> with one (so clipping and update ratios are in the record).
    /// </summary>
    public event Action<StepRecord>? StepCaptured;

    internal Parameter[] TrainableParameters => _parameters;

    /// <summary>The monitored model.</summary>
    internal Module Model => _model;

    /// <summary>Captures this step's gradients; call after <c>loss.backward()</c>.</summary>
    /// <param name="loss">The step's loss, recorded for plateau and oscillation diagnosis.</param>
    /// <returns>The step's record (full statistics on every <see cref="MonitorOptions.Every"/>-th step).</returns>
    /// <exception cref="InvalidOperationException">No parameter has a gradient (backward has not run).</exception>
    public StepRecord Capture(double? loss = null) => CaptureCore(loss, null);

    /// <summary>
    /// Captures this step's gradients and the loss tensor; the loss is read in the same device-to-host transfer as the
    /// statistics, so no extra synchronisation is spent on <c>loss.item()</c>.
    /// </summary>
    public StepRecord Capture(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (loss.numel() != 1)
            throw new ArgumentException($"Capture(loss) expects a scalar loss tensor; got shape [{string.Join(", ", loss.shape)}].", nameof(loss));
        return CaptureCore(null, loss);
    }

    /// <summary>
    /// Reports a micro-batch of gradient accumulation, after its <c>loss.backward()</c> and before the next one's, for
    /// the gradient noise scale (<see cref="MonitorOptions.TrackNoiseScale"/>): each micro-batch's loss divided by the
    /// number of micro-batches, the usual accumulation convention; then Capture or step as usual, and the step's record
    /// carries <see cref="StepRecord.NoiseScale"/>. Reads every gradient once.
    /// </summary>
    /// <param name="examples">Examples in this micro-batch (rows, or tokens for a per-token loss).</param>
    public void CaptureMicroBatch(long examples)
    {
        ThrowIfDisposed();
        if (_noise is null)
            throw new InvalidOperationException("CaptureMicroBatch measures the gradient noise scale, which this monitor does not track: attach it with new MonitorOptions { TrackNoiseScale = true }.");
        if (examples <= 0)
            throw new ArgumentOutOfRangeException(nameof(examples), examples, "CaptureMicroBatch(examples) takes the number of examples in the micro-batch, at least 1.");
        _noise.MicroBatch(examples);
    }

    private StepRecord CaptureCore(double? loss, Tensor? lossTensor)
    {
        ThrowIfDisposed();
        TapFunction.ThrowIfCallbackFailed();
        if (_firstForward != null) ObserveFirstForward(_step + 1);
        if (_pending != null) Seal(_pending);   // captured twice without a step: the first record is complete

        // Without a guard the update of the previous full step is measured now, at the next capture.
        if (_guard == null && _updates?.Pending != null) _updates.Complete();

        long step = _step + 1;
        bool full = IsFullStep(step);
        // Loss scaling: the scale this backward used; the statistics and the gradients are divided by it in this capture.
        var guard = _guard is { IsDisposed: false } g ? g : null;
        double? lossScale = guard?.LossScaler?.TakeScaleOfBackward();
        float inverseScale = lossScale is double ls ? Precision.LossScaler.Inverse(ls) : 1f;
        StepRecord record;
        using (var scope = torch.NewDisposeScope())
        using (var noGrad = torch.no_grad())
        {
            int present = _reducer.ReadGradients();
            if (present == 0)
            {
                _reducer.Clear();
                throw new InvalidOperationException(
                    $"Capture found no gradients on any of the {_parameters.Length} trainable parameters of '{ModelName(_model)}'. " +
                    "Call loss.backward() before Capture (or before optimizer.step()).");
            }
            bool checkedFinite = false;
            // A scaled step must know whether it overflowed, whatever CheckNonFiniteEveryStep says.
            if (!full && (Options.CheckNonFiniteEveryStep || lossScale is not null))
            {
                // One transfer for the check and the loss; a non-finite gradient upgrades the step to a full capture.
                if (_reducer.AnyNonFinite(lossTensor, out var lossValue)) full = true;
                else
                {
                    checkedFinite = true;
                    if (lossTensor is not null) { loss = lossValue; lossTensor = null; }
                }
            }
            record = full ? CaptureFull(step, loss, lossTensor, inverseScale) : CaptureLight(step, loss, lossTensor, checkedFinite, lossScale);
            record.LossScale = lossScale;
            // Unscale the gradients the optimizer will apply (into the float32 masters when there are some), unless they
            // overflowed: that step is skipped.
            if ((lossScale is not null || guard?.MasterWeights is not null) && !record.LossScaleOverflow)
                UnscaleGradients(inverseScale, guard!.MasterWeights);
            _reducer.Clear();
        }
        _step = step;
        if (_activations != null) _activations.Armed = IsFullStep(step + 1);
        if (_outputs != null) _outputs.Armed = IsFullStep(step + 1);
        var trace = _tracer?.Take(record.HasNonFinite) ?? default;
        if (record.HasNonFinite)
        {
            record = record with { Origin = NonFiniteOrigins.Explain(record, trace, NonFiniteWeights(), Options.TraceNonFinite, Options.NonFiniteTraceSteps) };
            // An overflow of scaled gradients is the loss scaler's business: no forward trace for it.
            if (!trace.Traced && Options.TraceNonFinite == NonFiniteTraceMode.OnDemand && !record.LossScaleOverflow) _tracer?.Arm();
        }

        if (record.IsFull) { _history.Add(record); _fullSteps++; }
        if (_guard == null)
        {
            if (record.IsFull && _updates != null) _updates.Snapshot(record);
            Seal(record);
        }
        else _pending = record;
        return record;
    }

    /// <summary>
    /// Divides each gradient read by this capture by the loss scale: in place, or into its float32 master. The reads were
    /// this capture's (the statistics pass); this is the one write.
    /// </summary>
    private void UnscaleGradients(float inverseScale, Precision.MasterWeights? master)
    {
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_reducer.Grad(i) is not { } g) continue;
            if (master != null) master.SetGradient(i, g, inverseScale);
            else if (inverseScale != 1f) g.mul_(inverseScale);
        }
    }

    /// <summary>Statistics of a gradient scaled by s, given 1/s: Σg/s, Σg²/s², max|g|/s; counts unchanged.</summary>
    private static GradientStats Unscaled(GradientStats x, double inverse) =>
        new(x.Count, x.Sum * inverse, x.SumOfSquares * inverse * inverse, x.MaxAbs * inverse, x.NonFiniteCount, x.ZeroCount);

    private StepRecord CaptureFull(long step, double? loss, Tensor? lossTensor, float inverseScale)
    {
        var extras = _activations?.Pending() ?? new List<Tensor>();
        int activationCount = extras.Count;
        var outputTensors = _outputs?.Pending() ?? new List<Tensor>();
        extras.AddRange(outputTensors);
        if (lossTensor is not null) extras.Add(lossTensor.detach().reshape(1));
        var noiseShares = _noise?.Shares;   // Σ|dᵢ|² of the micro-batches ride along in the same transfer
        if (noiseShares is not null) extras.Add(noiseShares);
        var (stats, values) = _reducer.Reduce(extras);
        var activations = _activations != null ? _activations.Collect(values.AsSpan(0, 2 * activationCount)) : Array.Empty<ActivationStats>();
        var outputs = _outputs != null ? _outputs.Collect(values.AsSpan(2 * activationCount, 5 * outputTensors.Count)) : Array.Empty<OutputGradient>();
        if (inverseScale != 1f)
        {
            for (int i = 0; i < stats.Length; i++) stats[i] = Unscaled(stats[i], inverseScale);
            for (int i = 0; i < outputs.Length; i++) outputs[i] = outputs[i] with { Gradient = Unscaled(outputs[i].Gradient, inverseScale) };
        }
        if (lossTensor is not null) loss = values[2 * activationCount + 5 * outputTensors.Count];

        var nonFinite = NonFiniteNames(stats);
        var record = new StepRecord(step, loss, stats, Parameters)
        {
            LayerOrder = _order,
            NonFiniteParameters = nonFinite,
            Units = _reducer.Units(finite: nonFinite.Count == 0, Options.DeadUnitSteps),
            MissingGradients = MissingNamesOrEmpty(),
            Activations = activations,
            OutputGradients = outputs,
            Time = DateTimeOffset.UtcNow,
        };
        if (noiseShares is not null)
            _noise!.Complete(record, values.AsSpan(2 * activationCount + 5 * outputTensors.Count + (lossTensor is not null ? 1 : 0), _parameters.Length), stats, inverseScale);
        else _noise?.Complete(record, null);   // fewer than two micro-batches: the batch only
        return record;
    }

    private StepRecord CaptureLight(long step, double? loss, Tensor? lossTensor, bool checkedFinite, double? lossScale)
    {
        _outputs?.Clear();
        if (lossTensor is not null) loss = lossTensor.detach().to_type(ScalarType.Float64).cpu().item<double>();
        var record = new StepRecord(step, loss, Array.Empty<GradientStats>(), Parameters)
        {
            LayerOrder = _order,
            MissingGradients = MissingNamesOrEmpty(), Time = DateTimeOffset.UtcNow, CheckedFinite = checkedFinite,
        };
        _noise?.Complete(record, lossScale);
        return record;
    }

    /// <summary>
    /// The model as a user would name it: the name given to its Module constructor, or its .NET type for modules whose
    /// name is libtorch's (a Sequential calls itself <c>torch::nn::SequentialImpl</c>).
    /// </summary>
    internal static string ModelName(Module model)
    {
        var name = model.GetName();
        return string.IsNullOrEmpty(name) || name.Contains("::", StringComparison.Ordinal) ? model.GetType().Name : name;
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
            throw new ObjectDisposedException(nameof(GradientMonitor),
                $"This GradientMonitor on '{ModelName(_model)}' was disposed and its hooks removed. Attach a new one: GradientMonitor.Attach(model).");
    }

    /// <summary>Whether step <paramref name="step"/> (1-based) gets full statistics: every <see cref="MonitorOptions.Every"/>-th, and the first <see cref="MonitorOptions.FullStepsAtStart"/>.</summary>
    private bool IsFullStep(long step) => step <= Options.FullStepsAtStart || step % Options.Every == 0;

    /// <summary>Forward passes over which the first-forward probe measures the input's scale; the layer order comes from the first.</summary>
    private const int FirstSteps = 3;

    /// <summary>
    /// Before the first captures: once a forward pass has run (or after <see cref="FirstSteps"/> captures without one
    /// that hooks saw), orders the layers by data flow; once the input's scale is measured, removes the pre-hooks.
    /// </summary>
    private void ObserveFirstForward(long step)
    {
        var probe = _firstForward!;
        if (_order is null && (probe.SawForward || step >= FirstSteps))
            SetOrder(DataFlowOrder.Compute(_model, Parameters.Select(p => p.Layer).Distinct().ToList(), probe.FirstRun, LayersWithoutGradient()));
        if (_order is null || !(probe.InputDone || step >= FirstSteps)) return;
        _profile = _profile with { Input = probe.Input() };
        HookErrors.AddRange(probe.Errors);
        probe.Dispose();
        _firstForward = null;
    }

    /// <summary>Layers none of whose parameters has a gradient now (read once, at the first capture).</summary>
    private HashSet<string> LayersWithoutGradient()
    {
        var with = new HashSet<string>();
        for (int i = 0; i < _parameters.Length; i++)
        {
            using var g = _parameters[i].grad;
            if (g is not null) with.Add(Parameters[i].Layer);
        }
        return Parameters.Select(p => p.Layer).Where(l => !with.Contains(l)).ToHashSet();
    }

    private void SetOrder(LayerOrder order)
    {
        _order = order;
        var units = order.Sort(_units, u => u.Path);
        units.CopyTo(_units);   // the reducer shares this array: unit statistics come out in data-flow order
        _flow = Enumerable.Range(0, Parameters.Count).OrderBy(i => order.IndexOf(Parameters[i].Layer)).ThenBy(i => i).ToArray();
        _profile = _profile with { LayerOrder = order, Layers = order.Sort(_profile.Layers, l => l.Layer) };
    }

    /// <summary>Trainable parameters holding NaN/Inf, in one transfer (run on non-finite steps only).</summary>
    private IReadOnlyList<string> NonFiniteWeights()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var flags = torch.stack(_parameters.Select(p => torch.isfinite(p).all().to(torch.CPU)).ToArray()).data<bool>().ToArray();
        var names = new List<string>();
        for (int i = 0; i < flags.Length; i++) if (!flags[i]) names.Add(Parameters[i].Name);
        return names;
    }

    private IReadOnlyList<string> NonFiniteNames(GradientStats[] stats)
    {
        List<string>? names = null;
        foreach (int i in _flow) if (stats[i].HasNonFinite) (names ??= new()).Add(Parameters[i].Name);
        return names is null ? Array.Empty<string>() : names.ToArray();
    }

    private string[] MissingNames()
    {
        var names = new List<string>();
        for (int i = 0; i < _parameters.Length; i++) if (_reducer.Grad(i) is null) names.Add(Parameters[i].Name);
        return names.ToArray();
    }

    private IReadOnlyList<string> MissingNamesOrEmpty()
    {
        for (int i = 0; i < _parameters.Length; i++) if (_reducer.Grad(i) is null) return MissingNames();
        return Array.Empty<string>();
    }

    /// <summary>
    /// Records ∂L/∂x, the gradient of the loss with respect to <paramref name="x"/>, under <paramref name="name"/> for the
    /// current step (<see cref="StepRecord.OutputGradients"/>), with the same statistics as the weights' and in the
    /// capture's single transfer; use the returned tensor in place of <paramref name="x"/>. For models whose
    /// <c>forward()</c> calls layers with <c>.forward(x)</c>, where the automatic taps of
    /// <see cref="MonitorOptions.TrackOutputGradients"/> cannot fire: <c>h = monitor.Tap(fc1.forward(x), "fc1");</c>.
    /// Only steps captured in full record (<see cref="MonitorOptions.Every"/>); elsewhere the tap is free.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty, or the tensor is disposed or not floating point.</exception>
    public Tensor Tap(Tensor x, string name)
    {
        ThrowIfDisposed();
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _outputs ??= new OutputGradientTracker { Armed = IsFullStep(_step + 1) };
        return _outputs.Tap(x, name);
    }

    /// <summary>
    /// Wraps <paramref name="optimizer"/> so that its <c>step()</c> captures statistics (reusing a capture made
    /// since the last step), applies <paramref name="clipping"/>, skips the update when the policy says so, and
    /// then steps the inner optimizer. One guard per monitor.
    /// </summary>
    public GuardedOptimizer Guard(optim.Optimizer optimizer, IClippingPolicy? clipping = null) => Guard(optimizer, clipping, new GuardOptions());

    /// <summary>
    /// Same as <see cref="Guard(optim.Optimizer, IClippingPolicy?)"/>, and with <paramref name="rollback"/> the guard keeps
    /// the last good weights and optimizer state and restores them when training is damaged (see <see cref="RollbackOptions"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Rollback with an optimizer whose state is not managed, or with weights already non-finite.</exception>
    public GuardedOptimizer Guard(optim.Optimizer optimizer, IClippingPolicy? clipping, RollbackOptions? rollback) =>
        Guard(optimizer, clipping, new GuardOptions { Rollback = rollback });

    /// <summary>
    /// Same as <see cref="Guard(optim.Optimizer, IClippingPolicy?)"/>, with <paramref name="options"/>: rollback, dynamic
    /// loss scaling (<see cref="Precision.LossScaler"/>) and float32 master weights (<see cref="Precision.MasterWeights"/>).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// Rollback with an optimizer whose state is not managed, or with weights already non-finite; a loss scaler that
    /// already serves another guard; master weights of another model, or an optimizer that steps the model's float16
    /// parameters instead of the masters. The message names the option.
    /// </exception>
    public GuardedOptimizer Guard(optim.Optimizer optimizer, IClippingPolicy? clipping, GuardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Rollback?.Validate();
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer is GuardedOptimizer)
            throw new ArgumentException("The optimizer is already a GuardedOptimizer; guard the inner optimizer once.", nameof(optimizer));
        if (_guard != null && !_guard.IsDisposed)
            throw new InvalidOperationException("This monitor already guards an optimizer. Dispose that GuardedOptimizer first.");
        if (options.LossScaler is { Owner: { IsDisposed: false } other })
            throw new ArgumentException(
                $"GuardOptions.LossScaler already serves another GuardedOptimizer (of a monitor on '{ModelName(other.Monitor.Model)}'). Each guard needs its own LossScaler: its scale follows that guard's overflows.",
                nameof(options));
        if (options.MasterWeights is { } master) CheckMasterWeights(master, optimizer);
        _guard = new GuardedOptimizer(this, optimizer, clipping, options);
        return _guard;
    }

    /// <summary>The master weights are this model's, in the monitor's order, and the optimizer steps them, not the low-precision originals.</summary>
    private void CheckMasterWeights(Precision.MasterWeights master, optim.Optimizer optimizer)
    {
        var mine = master.ModelParameters;
        if (mine.Count != _parameters.Length || mine.Where((p, i) => p.Handle != _parameters[i].Handle).Any())
            throw new ArgumentException(
                $"GuardOptions.MasterWeights were made from another model (or before some parameters were frozen or unfrozen): they hold {mine.Count} trainable parameters, '{ModelName(_model)}' has {_parameters.Length}. Create them with new MasterWeights(model) for this model.",
                "options");
        var stepped = optimizer.parameters().Select(p => p.Handle).ToHashSet();
        for (int i = 0; i < mine.Count; i++)
            if (master.IsCopied(i) && stepped.Contains(mine[i].Handle))
                throw new ArgumentException(
                    $"The optimizer steps the model's {mine[i].dtype} parameter '{master.Names[i]}' itself; with GuardOptions.MasterWeights create the optimizer over master.parameters(), e.g. torch.optim.Adam(master.parameters(), lr).",
                    nameof(optimizer));
        if (!master.Parameters.Any(p => stepped.Contains(p.Handle)))
            throw new ArgumentException("The optimizer steps none of the master weights; create it over master.parameters().", nameof(optimizer));
    }

    /// <summary>
    /// Diagnoses the captured history: vanishing, exploding, non-finite, dying ReLU, saturation, loss plateau and
    /// oscillation, with remedies chosen for this model (<see cref="Profile"/>).
    /// </summary>
    public Diagnostics.Diagnosis Diagnose(Diagnostics.DiagnosticThresholds? thresholds = null)
    {
        ThrowIfDisposed();
        return Diagnostics.Diagnoser.Diagnose(History, thresholds, Profile);
    }

    /// <summary>
    /// What the monitor knows about the model besides its gradients: its activation and normalisation modules (and
    /// which activation hooks have fired), its Linear/Conv weight scales at attach, the guard's clipping policy.
    /// </summary>
    public Diagnostics.ModelProfile Profile
    {
        get
        {
            var fired = _activations?.FiredPaths ?? new HashSet<string>();
            var policy = _guard is { IsDisposed: false } ? _guard.Clipping : null;
            return _profile with
            {
                Activations = _profile.Activations.Select(a => a with { Fired = fired.Contains(a.Path) }).ToList(),
                Clipping = policy?.ToString(),
                Rollbacks = _guard is { IsDisposed: false } g ? g.Rollbacks.ToList() : _profile.Rollbacks,
                RollsBack = _guard is { IsDisposed: false, RollbackOptions: not null },
                ClipsGradients = ModelProfiler.ClipsGradients(policy),
                CapturedSteps = _fullSteps,
                Optimizer = _guard is { IsDisposed: false } o ? o.Inner.GetType().Name : _profile.Optimizer,
                OptimizerEpsilon = _guard is { IsDisposed: false } e ? GradientHooks.Guard.OptimizerEpsilon.Of(e.Inner) : _profile.OptimizerEpsilon,
                MasterWeights = _guard is { IsDisposed: false, MasterWeights: not null } || (_guard is null && _profile.MasterWeights),
                LossScaling = _guard is { IsDisposed: false } l ? l.LossScaler?.ToString() : _profile.LossScaling,
                LearningRate = _guard is { IsDisposed: false } r ? r.ParamGroups.FirstOrDefault()?.LearningRate : _profile.LearningRate,
                RangeTest = LearningRateFinder.LastFor(_model) is { } sweep ? Diagnostics.RangeTestSummary.Of(sweep) : _profile.RangeTest,
            };
        }
    }

    // ---- Range test -----------------------------------------------------------------------------------

    /// <summary>The live monitor attached to <paramref name="model"/>, or null.</summary>
    internal static GradientMonitor? AttachedTo(Module model) => Attached.TryGetValue(model, out var m) && !m._disposed ? m : null;

    /// <summary>
    /// Turns the forward hooks' recording off while a learning-rate range test runs the model (its passes are not
    /// training steps, and its divergence is not the run's NaN); disposing the result turns it back on as it was.
    /// </summary>
    internal IDisposable PauseRecording()
    {
        bool activations = _activations?.Armed ?? false, outputs = _outputs?.Armed ?? false, tracer = _tracer?.Paused ?? false;
        if (_activations != null) _activations.Armed = false;
        if (_outputs != null) _outputs.Armed = false;
        if (_tracer != null) _tracer.Paused = true;
        return new RecordingPause(() =>
        {
            if (_activations != null) _activations.Armed = activations;
            if (_outputs != null) _outputs.Armed = outputs;
            if (_tracer != null) _tracer.Paused = tracer;
        });
    }

    private sealed class RecordingPause(Action resume) : IDisposable
    {
        private Action? _resume = resume;
        public void Dispose() { _resume?.Invoke(); _resume = null; }
    }

    // ---- Guard protocol -------------------------------------------------------------------------------

    internal StepRecord TakePendingOrCapture()
    {
        var record = _pending ?? CaptureCore(null, null);
        _pending = null;
        return record;
    }

    internal void BeforeUpdate(StepRecord record)
    {
        if (_updates != null && record.IsFull) _updates.Snapshot(record);
    }

    internal void AfterUpdate() => _updates?.Complete();

    internal void Seal(StepRecord record)
    {
        if (ReferenceEquals(_pending, record)) _pending = null;
        StepCaptured?.Invoke(record);
    }

    internal void Unguard(GuardedOptimizer guard)
    {
        if (!ReferenceEquals(_guard, guard)) return;
        // The diagnosis keeps what the guard did and was after it is gone.
        _profile = _profile with
        {
            Rollbacks = guard.Rollbacks.ToList(), Optimizer = guard.Inner.GetType().Name, OptimizerEpsilon = GradientHooks.Guard.OptimizerEpsilon.Of(guard.Inner),
            MasterWeights = guard.MasterWeights is not null, LossScaling = guard.LossScaler?.ToString(),
            LearningRate = guard.ParamGroups.FirstOrDefault()?.LearningRate,
        };
        _guard = null;
        _pending = null;
        _updates?.Cancel();
    }

    /// <summary>Removes every hook this monitor added and frees its tensors; the model is as before <see cref="Attach"/>. Safe to call twice.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (_pending != null) Seal(_pending);   // a capture never followed by step(): its listeners still get it
        _disposed = true;
        _activations?.Dispose();
        _outputs?.Dispose();
        _firstForward?.Dispose();
        _tracer?.Dispose();
        _updates?.Dispose();
        _noise?.Dispose();
        lock (AttachLock) Attached.Remove(_model);
    }
}
