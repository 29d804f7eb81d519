using GradientHooks.Clipping;

namespace GradientHooks;

/// <summary>
/// What the monitor saw on one training step: per-parameter gradient statistics (on full steps), the loss, the
/// parameters with NaN/Inf, activation statistics, update ratios and the clipping decision.
/// </summary>
/// <param name="Step">Step number, 1 for the first <see cref="GradientMonitor.Capture(double?)"/>.</param>
/// <param name="Loss">The loss passed to Capture, if any.</param>
/// <param name="Gradients">Per-parameter statistics, aligned with <see cref="Parameters"/>; empty on steps that were not fully captured.</param>
/// <param name="Parameters">The monitor's trainable parameters (shared, not copied).</param>
public sealed record StepRecord(long Step, double? Loss, IReadOnlyList<GradientStats> Gradients, IReadOnlyList<ParameterInfo> Parameters)
{
    private IReadOnlyList<LayerStats>? _layers;

    /// <summary>When the step was captured (UTC).</summary>
    public DateTimeOffset Time { get; init; }

    /// <summary>True when <see cref="Gradients"/> holds statistics for every parameter (a full capture).</summary>
    public bool IsFull => Gradients.Count == Parameters.Count && Gradients.Count > 0;

    /// <summary>L2 norm over all gradients: sqrt(Σ_p Σ_i g_pi²), the value <c>clip_grad_norm_</c> returns. NaN when not a full step.</summary>
    public double TotalNorm => IsFull ? Math.Sqrt(TotalSumOfSquares()) : double.NaN;

    /// <summary>True when any gradient element was NaN or ±Inf on this step.</summary>
    public bool HasNonFinite => NonFiniteParameters.Count > 0;

    /// <summary>
    /// True when every gradient of this step is known to be finite without full statistics: a light step
    /// (<see cref="MonitorOptions.Every"/> &gt; 1) whose every-step check found no NaN/Inf. Full steps say it through
    /// <see cref="HasNonFinite"/>. Lets the non-finite guard skip a second check.
    /// </summary>
    public bool CheckedFinite { get; internal init; }

    /// <summary>Names of parameters whose gradient held NaN or Inf, in parameter order.</summary>
    public IReadOnlyList<string> NonFiniteParameters { get; init; } = Array.Empty<string>();

    /// <summary>Names of trainable parameters whose <c>grad</c> was null on this step (unused in the forward pass); their statistics are empty.</summary>
    public IReadOnlyList<string> MissingGradients { get; init; } = Array.Empty<string>();

    /// <summary>
    /// Per Linear/Conv layer: how many output units passed no gradient on this step and how many have been dead
    /// (no gradient on each of the last <see cref="MonitorOptions.DeadUnitSteps"/> full captures), read from the
    /// gradients themselves, so it needs no hook and sees functional and <c>.forward()</c> activations. Full steps only.
    /// </summary>
    public IReadOnlyList<UnitStats> Units { get; init; } = Array.Empty<UnitStats>();

    /// <summary>
    /// ∂L/∂h of tapped tensors (<see cref="GradientMonitor.Tap"/>, or every parameterised module's output with
    /// <see cref="MonitorOptions.TrackOutputGradients"/>), in the order backward reached them; empty otherwise. Full steps only.
    /// </summary>
    public IReadOnlyList<OutputGradient> OutputGradients { get; init; } = Array.Empty<OutputGradient>();

    /// <summary>Activation statistics from the forward hooks, when tracked; empty otherwise.</summary>
    public IReadOnlyList<ActivationStats> Activations { get; init; } = Array.Empty<ActivationStats>();

    /// <summary>
    /// ‖w_after − w_before‖ / ‖w_before‖ per parameter (aligned with <see cref="Parameters"/>) for the update made on
    /// this step, when <see cref="MonitorOptions.TrackUpdates"/> is on and the step was full. With a
    /// <see cref="GuardedOptimizer"/> it is set inside <c>step()</c>; without one, at the next Capture.
    /// </summary>
    public IReadOnlyList<double>? UpdateRatios { get; internal set; }

    /// <summary>What the clipping policy did on this step (a <see cref="GuardedOptimizer"/> sets it), else null.</summary>
    public ClipResult? Clipping { get; internal set; }

    /// <summary>Where this step's NaN/Inf came from (set on steps with non-finite gradients; null otherwise).</summary>
    public NonFiniteOrigin? Origin { get; init; }

    /// <summary>
    /// Whether the guard saw <c>zero_grad()</c> between the previous <c>step()</c> and this one; null without a guard and
    /// on the guard's first step.
    /// </summary>
    public bool? ZeroGradCalled { get; internal set; }

    /// <summary>
    /// On a step without <c>zero_grad()</c> through the guard: ‖gₜ‖ / ‖gₜ − gₜ₋₁‖ for one small parameter, which grows
    /// step after step when gradients pile up and stays level when something else zeroes them; null otherwise.
    /// </summary>
    public double? AccumulationRatio { get; internal set; }

    /// <summary>The rollback the guard made on this step (weights and optimizer state restored), or null.</summary>
    public RollbackEvent? Rollback { get; internal set; }

    /// <summary>
    /// The model's layers in data-flow order (see <see cref="GradientHooks.LayerOrder"/>): <see cref="Layers"/> follow it.
    /// Null for records made without a monitor that knew it; layers then follow parameter order.
    /// </summary>
    public LayerOrder? LayerOrder { get; init; }

    /// <summary>True when the guarded optimizer skipped this step's update.</summary>
    public bool Skipped => Clipping?.SkipStep == true;

    /// <summary>
    /// The loss scale this step's backward used (<see cref="Precision.LossScaler"/>), or null when the loss was not
    /// scaled. The statistics in <see cref="Gradients"/> and <see cref="OutputGradients"/> are divided by it: true scale.
    /// </summary>
    public double? LossScale { get; internal set; }

    /// <summary>
    /// The gradient noise scale B_simple = tr(Σ)/|G|² of the whole model (McCandlish et al. 2018), from moving averages
    /// over the steps so far; null when not measured (<see cref="MonitorOptions.TrackNoiseScale"/> off, fewer than two
    /// micro-batches reported with <see cref="GradientMonitor.CaptureMicroBatch"/>, or an average not yet positive).
    /// Compare it with <see cref="BatchExamples"/>: a batch well below B_simple would gain from growing.
    /// </summary>
    public double? NoiseScale => Noise?.Simple;

    /// <summary>The smoothed |G|² and tr(Σ) of the whole model behind <see cref="NoiseScale"/>; null when not measured.</summary>
    public NoiseScaleStats? Noise { get; internal set; }

    /// <summary>The same per layer (data-flow order of the parameters' layers); empty when not measured.</summary>
    public IReadOnlyList<NoiseScaleStats> LayerNoise { get; internal set; } = Array.Empty<NoiseScaleStats>();

    /// <summary>Examples in this step's batch (Σ of the sizes passed to <see cref="GradientMonitor.CaptureMicroBatch"/>); null when no micro-batch was reported.</summary>
    public long? BatchExamples { get; internal set; }

    /// <summary>Micro-batches reported on this step; null when none.</summary>
    public int? MicroBatches { get; internal set; }

    /// <summary>True when the loss was scaled and the scaled gradients overflowed (Inf/NaN): the guard skipped the update and the scale backed off.</summary>
    public bool LossScaleOverflow => LossScale is not null && HasNonFinite;

    /// <summary>Per-layer aggregates in data-flow order (<see cref="LayerOrder"/>), input side first; empty when the step was not fully captured.</summary>
    public IReadOnlyList<LayerStats> Layers => _layers ??= BuildLayers();

    /// <summary>Statistics of the parameter called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No trainable parameter has that name, or the step was not full.</exception>
    public GradientStats this[string name]
    {
        get
        {
            for (int i = 0; i < Parameters.Count && i < Gradients.Count; i++)
                if (Parameters[i].Name == name) return Gradients[i];
            throw new KeyNotFoundException($"Step {Step} has no gradient statistics for parameter '{name}'. Known parameters: {string.Join(", ", Parameters.Select(p => p.Name))}.");
        }
    }

    private double TotalSumOfSquares()
    {
        double s = 0;
        for (int i = 0; i < Gradients.Count; i++) s += Gradients[i].SumOfSquares;
        return s;
    }

    private IReadOnlyList<LayerStats> BuildLayers()
    {
        if (!IsFull) return Array.Empty<LayerStats>();
        var order = new List<string>();
        var stats = new Dictionary<string, (GradientStats G, double Dw2, double W2, bool HasRatio)>();
        for (int i = 0; i < Parameters.Count; i++)
        {
            var layer = Parameters[i].Layer;
            if (!stats.TryGetValue(layer, out var acc)) { order.Add(layer); acc = (GradientStats.Empty, 0, 0, UpdateRatios != null); }
            acc.G = GradientStats.Merge(acc.G, Gradients[i]);
            if (UpdateRatios != null && _updateNorms != null)
            {
                acc.Dw2 += _updateNorms[i].Delta * _updateNorms[i].Delta;
                acc.W2 += _updateNorms[i].Weight * _updateNorms[i].Weight;
            }
            stats[layer] = acc;
        }
        if (LayerOrder is { } flow) order = flow.Sort(order, l => l);
        var result = new LayerStats[order.Count];
        for (int d = 0; d < order.Count; d++)
        {
            var acc = stats[order[d]];
            double? ratio = acc.HasRatio && _updateNorms != null ? (acc.W2 > 0 ? Math.Sqrt(acc.Dw2 / acc.W2) : 0) : null;
            result[d] = new LayerStats(order[d], acc.G, ratio, d);
        }
        return result;
    }

    private (double Delta, double Weight)[]? _updateNorms;

    /// <summary>‖Δw‖ and ‖w‖ per parameter behind <see cref="UpdateRatios"/> (what the layer ratios merge), for run logs.</summary>
    internal IReadOnlyList<(double Delta, double Weight)>? UpdateNorms => _updateNorms;

    internal void SetUpdateNorms((double Delta, double Weight)[] norms)
    {
        _updateNorms = norms;
        var ratios = new double[norms.Length];
        for (int i = 0; i < norms.Length; i++)
            ratios[i] = norms[i].Weight > 0 ? norms[i].Delta / norms[i].Weight : 0;
        UpdateRatios = ratios;
        _layers = null;
    }
}
