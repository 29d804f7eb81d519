namespace GradientHooks;

/// <summary>What <see cref="GradientMonitor"/> records and how often. Validated when the monitor attaches.</summary>
public sealed record MonitorOptions
{
    /// <summary>Most recent captured steps kept in <see cref="GradientMonitor.History"/> (a ring). Default 1000; at least 1.</summary>
    public int HistoryLength { get; init; } = 1000;

    /// <summary>
    /// Full statistics are computed on every N-th step (steps N, 2N, ...; step numbers start at 1) and on the first
    /// <see cref="FullStepsAtStart"/> steps. On the other
    /// steps only the non-finite check runs (see <see cref="CheckNonFiniteEveryStep"/>). Default 1; at least 1.
    /// </summary>
    public int Every { get; init; } = 1;

    /// <summary>
    /// The first this many steps are captured in full whatever <see cref="Every"/> says: the start of training is where a
    /// learning rate that is too high, an explosion or units dying show first, and a few full captures there cost nothing
    /// over a run. Default 10; 0 leaves it to <see cref="Every"/>.
    /// </summary>
    public int FullStepsAtStart { get; init; } = 10;

    /// <summary>
    /// When true (default) steps between full captures still check every gradient for NaN/Inf (one reduction per
    /// parameter, one transfer); a non-finite step is then captured in full and kept in history. When false,
    /// those steps cost nothing and NaN is only seen on full steps.
    /// </summary>
    public bool CheckNonFiniteEveryStep { get; init; } = true;

    /// <summary>
    /// Order the layers by data flow (<see cref="LayerOrder"/>): pre-hooks on every module for the first
    /// forward passes, then removed, and the IL of custom modules' <c>forward()</c> read once; the same pre-hooks measure
    /// the input's scale (<see cref="Diagnostics.ModelProfile.Input"/>). False: parameter (declaration) order, no input
    /// scale, no pre-hook. Default true.
    /// </summary>
    public bool DetectLayerOrder { get; init; } = true;

    /// <summary>Forward hooks on activation modules (ReLU family, Sigmoid, Tanh). Hooks fire only through <c>module.call(x)</c>. Default true.</summary>
    public bool TrackActivations { get; init; } = true;

    /// <summary>
    /// Tap the output of every module that owns trainable parameters (forward hooks, where they fire: modules run through
    /// <c>.call(x)</c>, as a Sequential runs them) and the input sequence of recurrent layers, and record ∂L/∂h on full
    /// steps (<see cref="StepRecord.OutputGradients"/>); the diagnosis then judges vanishing and exploding on it. Models
    /// that call <c>.forward(x)</c> use <see cref="GradientMonitor.Tap"/> in their own forward. Default false.
    /// </summary>
    public bool TrackOutputGradients { get; init; }

    /// <summary>
    /// Measure the gradient noise scale B_simple = tr(Σ)/|G|² (McCandlish et al. 2018) from the micro-batches of gradient
    /// accumulation: call <see cref="GradientMonitor.CaptureMicroBatch"/> after each micro-batch's <c>backward()</c>
    /// (each micro-batch loss divided by the number of micro-batches), then capture or step as usual. Costs one read of
    /// every gradient per micro-batch and a float32 copy of the gradients (<see cref="StepRecord.NoiseScale"/>). Default false.
    /// </summary>
    public bool TrackNoiseScale { get; init; }

    /// <summary>
    /// The decay β of the moving averages of |G|² and tr(Σ) behind <see cref="StepRecord.NoiseScale"/> (bias-corrected,
    /// averaged apart before their ratio is taken, as McCandlish et al. advise). Default 0.95; in [0, 1).
    /// </summary>
    public double NoiseScaleSmoothing { get; init; } = 0.95;

    /// <summary>Record ‖Δw‖ / ‖w‖ per parameter for the update of each full step. Default true.</summary>
    public bool TrackUpdates { get; init; } = true;

    /// <summary>
    /// Update ratios of weight matrices larger than this many elements are estimated on a fixed sample of output
    /// units: every k-th row, about this many elements, the same rows before and after the update. That keeps their
    /// cost independent of model size; vectors and smaller parameters are measured exactly. 0 measures every
    /// element. Default 16384.
    /// </summary>
    public int UpdateRatioSampleSize { get; init; } = 16384;

    /// <summary>
    /// Sigmoid output s counts as saturated when s(1 - s) &lt; <c>SaturationDerivativeFraction</c> × 0.25, and a tanh
    /// output y when 1 - y² &lt; <c>SaturationDerivativeFraction</c>: the derivative is below that fraction of its
    /// peak. Default 0.01 (sigmoid |x| &gt; 5.99, tanh |x| &gt; 2.99). In (0, 1).
    /// </summary>
    public double SaturationDerivativeFraction { get; init; } = 0.01;

    /// <summary>
    /// When true (default), CPU gradients that are contiguous float32/float64/float16/bfloat16 are reduced by one
    /// managed SIMD pass over their memory (Σg, Σg², min, max, zeros and per-unit zero rows together, parallel over
    /// chunks) instead of several libtorch reductions per parameter. Other devices and layouts always use libtorch.
    /// The results agree within floating-point rounding (the fused pass accumulates in double). False: libtorch only.
    /// </summary>
    public bool FusedReduction { get; init; } = true;

    /// <summary>
    /// A Linear/Conv output unit is dead when its gradient (weight row and bias entry) was exactly zero on each of
    /// this many consecutive full captures with finite gradients (or on every one so far, when fewer have been
    /// made); see <see cref="UnitStats"/>. A live ReLU unit that fires on a fraction a of examples passes no gradient
    /// on a batch of B with probability (1 − a)^B, so on 20 steps in a row only when it almost never fires.
    /// Default 20; at least 1.
    /// </summary>
    public int DeadUnitSteps { get; init; } = 20;

    /// <summary>
    /// Tracing of the forward pass for the first module whose output turned NaN/Inf (<see cref="NonFiniteOrigin"/>).
    /// Default <see cref="NonFiniteTraceMode.OnDemand"/>: hooks go on only after a non-finite step.
    /// </summary>
    public NonFiniteTraceMode TraceNonFinite { get; init; } = NonFiniteTraceMode.OnDemand;

    /// <summary>Captured steps the on-demand trace hooks stay on after a non-finite step, waiting for the next one. Default 100; at least 1.</summary>
    public int NonFiniteTraceSteps { get; init; } = 100;

    internal void Validate()
    {
        if (HistoryLength < 1)
            throw new ArgumentOutOfRangeException(nameof(HistoryLength), HistoryLength, "MonitorOptions.HistoryLength must be at least 1.");
        if (Every < 1)
            throw new ArgumentOutOfRangeException(nameof(Every), Every, "MonitorOptions.Every must be at least 1 (1 = every step).");
        if (FullStepsAtStart < 0)
            throw new ArgumentOutOfRangeException(nameof(FullStepsAtStart), FullStepsAtStart, "MonitorOptions.FullStepsAtStart must be >= 0 (0 = leave it to Every).");
        if (NonFiniteTraceSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(NonFiniteTraceSteps), NonFiniteTraceSteps, "MonitorOptions.NonFiniteTraceSteps must be at least 1.");
        if (!Enum.IsDefined(TraceNonFinite))
            throw new ArgumentOutOfRangeException(nameof(TraceNonFinite), TraceNonFinite, "MonitorOptions.TraceNonFinite must be Off, OnDemand or EveryStep.");
        if (DeadUnitSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(DeadUnitSteps), DeadUnitSteps, "MonitorOptions.DeadUnitSteps must be at least 1.");
        if (UpdateRatioSampleSize < 0)
            throw new ArgumentOutOfRangeException(nameof(UpdateRatioSampleSize), UpdateRatioSampleSize, "MonitorOptions.UpdateRatioSampleSize must be >= 0 (0 = every element).");
        if (!(SaturationDerivativeFraction > 0 && SaturationDerivativeFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(SaturationDerivativeFraction), SaturationDerivativeFraction, "MonitorOptions.SaturationDerivativeFraction must be in (0, 1).");
        if (!(NoiseScaleSmoothing >= 0 && NoiseScaleSmoothing < 1))
            throw new ArgumentOutOfRangeException(nameof(NoiseScaleSmoothing), NoiseScaleSmoothing, "MonitorOptions.NoiseScaleSmoothing must be in [0, 1) (0 = no smoothing).");
    }
}
