using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.Precision;

/// <summary>
/// Dynamic loss scaling, with the algorithm and defaults of PyTorch's <c>torch.amp.GradScaler</c>: the loss is multiplied
/// by the scale s before <c>backward()</c>, so that float16 gradients are s times larger and stay above float16's
/// smallest subnormal (2⁻²⁴ ≈ 6.0e-8); the guard divides them by s again before anything reads or applies them.
/// <para>The rule, once per optimizer step whose backward used the scale: when a gradient holds Inf or NaN the update is
/// skipped, s ← s · <see cref="BackoffFactor"/> and the growth tracker is reset; otherwise the tracker counts the step and,
/// after <see cref="GrowthInterval"/> steps in a row without Inf/NaN, s ← s · <see cref="GrowthFactor"/> (unless that is
/// not finite in float32) and the tracker is reset. As in GradScaler, s is kept in float32.</para>
/// <para>Use it through the guard, which checks for Inf/NaN and unscales inside the monitor's own capture (the
/// statistics, clipping policies, spike skipping and the diagnosis see true-scale gradients):</para>
/// <code>
/// var scaler = new LossScaler();
/// var optimizer = monitor.Guard(torch.optim.SGD(model.parameters(), 0.1), Clip.GlobalNorm(1), new GuardOptions { LossScaler = scaler });
/// // each step:
/// optimizer.zero_grad();
/// var loss = functional.cross_entropy(model.call(x), y);
/// scaler.Scale(loss).backward();
/// monitor.Capture(loss);   // optional; the true loss, not the scaled one
/// optimizer.step();        // unscales, skips on Inf/NaN, updates the scale
/// </code>
/// </summary>
public sealed class LossScaler
{
    private float _scale;
    private float? _scaleOfBackward;

    /// <summary>Creates a scaler.</summary>
    /// <param name="initScale">The first scale, a finite number &gt; 0. Default 2¹⁶ = 65536, as GradScaler.</param>
    /// <param name="growthFactor">Multiplies the scale after <paramref name="growthInterval"/> clean steps; &gt; 1. Default 2.</param>
    /// <param name="backoffFactor">Multiplies the scale on a step with Inf/NaN gradients; in (0, 1). Default 0.5.</param>
    /// <param name="growthInterval">Clean steps in a row before the scale grows; at least 1. Default 2000.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of its range; the message names it and its value.</exception>
    public LossScaler(double initScale = 65536, double growthFactor = 2, double backoffFactor = 0.5, int growthInterval = 2000)
    {
        if (!(double.IsFinite(initScale) && initScale > 0 && initScale <= float.MaxValue))
            throw new ArgumentOutOfRangeException(nameof(initScale), initScale, $"LossScaler: initScale must be a finite number > 0 (and within float32); got {initScale}. GradScaler's default is 65536.");
        if (!(double.IsFinite(growthFactor) && growthFactor > 1))
            throw new ArgumentOutOfRangeException(nameof(growthFactor), growthFactor, $"LossScaler: growthFactor must be a finite number > 1; got {growthFactor}. Default 2.");
        if (!(backoffFactor > 0 && backoffFactor < 1))
            throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor, $"LossScaler: backoffFactor must be in (0, 1); got {backoffFactor}. Default 0.5.");
        if (growthInterval < 1)
            throw new ArgumentOutOfRangeException(nameof(growthInterval), growthInterval, $"LossScaler: growthInterval must be at least 1; got {growthInterval}. Default 2000.");
        _scale = (float)initScale;
        InitialScale = _scale;
        GrowthFactor = growthFactor;
        BackoffFactor = backoffFactor;
        GrowthInterval = growthInterval;
    }

    /// <summary>The scale the next <see cref="Scale"/> applies.</summary>
    public double CurrentScale => _scale;

    /// <summary>The scale this scaler started with.</summary>
    public double InitialScale { get; }

    /// <summary>The growth factor (&gt; 1).</summary>
    public double GrowthFactor { get; }

    /// <summary>The back-off factor, in (0, 1).</summary>
    public double BackoffFactor { get; }

    /// <summary>Clean steps in a row before the scale grows.</summary>
    public int GrowthInterval { get; }

    /// <summary>Clean steps since the scale last changed (GradScaler's growth tracker).</summary>
    public int GrowthTracker { get; private set; }

    /// <summary>Steps whose scaled gradients overflowed (Inf/NaN) and were skipped, since creation or the last <see cref="LoadStateDict"/>.</summary>
    public long Overflows { get; internal set; }

    /// <summary>The guard this scaler serves; a scaler serves one guard at a time.</summary>
    internal GuardedOptimizer? Owner { get; set; }

    /// <summary>
    /// The loss times <see cref="CurrentScale"/>, to call <c>backward()</c> on. A float16 or bfloat16 loss is scaled in
    /// float32 (its scaled value would overflow float16; the gradient flowing back is the same).
    /// </summary>
    /// <exception cref="ArgumentException">The loss is not a one-element floating-point tensor; the message names its shape or type.</exception>
    public Tensor Scale(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (loss.IsInvalid)
            throw new ArgumentException("LossScaler.Scale: the loss tensor was disposed.", nameof(loss));
        if (loss.numel() != 1)
            throw new ArgumentException($"LossScaler.Scale expects the scalar loss; got a tensor of shape [{string.Join(", ", loss.shape)}]. Reduce it first (loss.mean() or loss.sum()).", nameof(loss));
        if (!loss.is_floating_point())
            throw new ArgumentException($"LossScaler.Scale expects a floating-point loss; got {loss.dtype}.", nameof(loss));
        _scaleOfBackward = _scale;
        var wide = loss.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? loss.to_type(ScalarType.Float32) : loss;
        return wide * _scale;
    }

    /// <summary>The scale the backward of this step used (set by <see cref="Scale"/>), cleared; null when Scale was not called since the last step.</summary>
    internal double? TakeScaleOfBackward()
    {
        var s = _scaleOfBackward;
        _scaleOfBackward = null;
        return s;
    }

    /// <summary>1/s as GradScaler computes it: in double, then rounded to float32.</summary>
    internal static float Inverse(double scale) => (float)(1.0 / scale);

    /// <summary>GradScaler's update, after a step whose backward used the scale: back off on Inf/NaN, grow after <see cref="GrowthInterval"/> clean steps.</summary>
    /// <param name="foundInf">True when the step's scaled gradients held Inf or NaN (the step was skipped).</param>
    internal void Update(bool foundInf)
    {
        if (foundInf)
        {
            _scale = (float)(_scale * BackoffFactor);
            GrowthTracker = 0;
            Overflows++;
            return;
        }
        int successful = GrowthTracker + 1;
        if (successful == GrowthInterval)
        {
            var grown = (float)(_scale * GrowthFactor);
            if (float.IsFinite(grown)) _scale = grown;   // never past float32's range to Inf
            GrowthTracker = 0;
        }
        else GrowthTracker = successful;
    }

    /// <summary>The scaler's state, as GradScaler's <c>state_dict()</c>: scale, factors, interval and growth tracker.</summary>
    public LossScalerState StateDict() => new(_scale, GrowthFactor, BackoffFactor, GrowthInterval, GrowthTracker);

    /// <summary>
    /// Restores the scale and the growth tracker saved by <see cref="StateDict"/>; the factors and interval must be this
    /// scaler's (as a checkpoint is loaded into the same training script).
    /// </summary>
    /// <exception cref="ArgumentException">The state is invalid or was saved with other factors or another interval; the message names the field.</exception>
    public void LoadStateDict(LossScalerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (!(double.IsFinite(state.Scale) && state.Scale > 0))
            throw new ArgumentException($"LossScaler.LoadStateDict: the saved scale is {state.Scale}; a scale is a finite number > 0.", nameof(state));
        if (state.GrowthTracker < 0 || state.GrowthTracker >= state.GrowthInterval)
            throw new ArgumentException($"LossScaler.LoadStateDict: the saved growth tracker {state.GrowthTracker} is outside [0, {state.GrowthInterval}).", nameof(state));
        if (state.GrowthFactor != GrowthFactor || state.BackoffFactor != BackoffFactor || state.GrowthInterval != GrowthInterval)
            throw new ArgumentException(
                $"LossScaler.LoadStateDict: the state was saved by LossScaler(growthFactor: {state.GrowthFactor}, backoffFactor: {state.BackoffFactor}, growthInterval: {state.GrowthInterval}); " +
                $"this one has ({GrowthFactor}, {BackoffFactor}, {GrowthInterval}). Create the scaler with the saved settings.", nameof(state));
        _scale = (float)state.Scale;
        GrowthTracker = state.GrowthTracker;
        _scaleOfBackward = null;
    }

    /// <inheritdoc />
    public override string ToString() => $"LossScaler(scale {CurrentScale:G6}, growth ×{GrowthFactor:G3} every {GrowthInterval} steps, back-off ×{BackoffFactor:G3})";
}
