namespace GradientHooks;

/// <summary>
/// The gradient noise scale of a layer (or of the whole model) on a step: exponential moving averages of the unbiased
/// per-step estimates of |G|² and tr(Σ) (<see cref="MicroBatchMoments.Estimate"/>), and their ratio.
/// </summary>
/// <param name="Layer">The layer's path, or <see cref="Model"/> for every parameter together.</param>
/// <param name="GradientSquaredNorm">|G|², the squared norm of the true gradient (smoothed).</param>
/// <param name="NoiseTrace">tr(Σ), the trace of the per-example gradient covariance (smoothed).</param>
public sealed record NoiseScaleStats(string Layer, double GradientSquaredNorm, double NoiseTrace)
{
    /// <summary>The name of the whole-model entry.</summary>
    public const string Model = "(model)";

    /// <summary>
    /// B_simple = tr(Σ) / |G|², the batch size at which the gradient's noise and its signal are of one size: well below
    /// it, doubling the batch nearly halves the steps needed; well above it, larger batches buy little. Null while either
    /// average is not positive.
    /// </summary>
    public double? Simple => GradientSquaredNorm > 0 && NoiseTrace > 0 ? NoiseTrace / GradientSquaredNorm : null;
}
