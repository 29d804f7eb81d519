namespace GradientHooks.Clipping;

/// <summary>The outcome of one <see cref="IClippingPolicy.Apply"/> call.</summary>
/// <param name="NormBefore">Total L2 gradient norm before the policy acted (NaN/Inf when gradients were non-finite).</param>
/// <param name="NormAfter">Total L2 gradient norm after it (equal to <paramref name="NormBefore"/> when nothing changed; 0 when gradients were zeroed).</param>
/// <param name="Clipped">True when any gradient was changed.</param>
/// <param name="SkipStep">True when the optimizer's update must be skipped for this step.</param>
/// <param name="Reason">Why the policy acted (threshold, parameters), or null when it did nothing.</param>
public sealed record ClipResult(double NormBefore, double NormAfter, bool Clipped, bool SkipStep, string? Reason)
{
    /// <summary>A result for a policy that did nothing at the given norm.</summary>
    public static ClipResult Unchanged(double norm) => new(norm, norm, false, false, null);

    /// <summary>
    /// The total-norm threshold the policy held this step, whether or not it clipped: the max norm of
    /// <see cref="Clip.GlobalNorm"/>, the percentile of <see cref="Clip.Adaptive"/>, ZClip's threshold when it acted; null
    /// for policies with no threshold on the total norm (value, per-parameter, unit-wise clipping, skipping). Charts draw it
    /// next to the total norm.
    /// </summary>
    public double? Threshold { get; init; }
}
