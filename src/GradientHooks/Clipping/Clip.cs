namespace GradientHooks.Clipping;

/// <summary>
/// Factories for the clipping policies. Every option is validated here: an out-of-range value throws an
/// <see cref="ArgumentOutOfRangeException"/> naming the option, the value and the allowed range.
/// </summary>
/// <remarks>
/// <list type="table">
/// <listheader><term>Policy</term><description>Rule</description></listheader>
/// <item><term><see cref="Value"/></term><description>gᵢ ← clamp(gᵢ, −limit, limit) (<c>clip_grad_value_</c>)</description></item>
/// <item><term><see cref="GlobalNorm"/></term><description>g ← g · maxNorm/(N + 1e−6) when N &gt; maxNorm, N the q-norm over all gradients (<c>clip_grad_norm_</c>)</description></item>
/// <item><term><see cref="PerParameterNorm"/></term><description>g_p ← g_p · maxNorm/‖g_p‖ per parameter</description></item>
/// <item><term><see cref="Adaptive"/></term><description>AutoClip: global norm clipped to the p-th percentile of past norms</description></item>
/// <item><term><see cref="Unitwise"/></term><description>AGC: per unit, ‖G_i‖ ≤ λ·max(‖W_i‖, eps)</description></item>
/// <item><term><see cref="ZScore"/></term><description>ZClip: clip norm outliers with z-score above z of an EMA mean/variance</description></item>
/// <item><term><see cref="AdaGC"/></term><description>AdaGC: per tensor, ‖g_i‖ ≤ λ_rel·γ_i, γ_i the EMA of its clipped norms</description></item>
/// <item><term><see cref="SkipNonFinite"/></term><description>NaN/Inf anywhere: zero the gradients, skip the update</description></item>
/// <item><term><see cref="SkipSpikes"/></term><description>loss or total norm more than z robust σ above its median on the log scale over the last window: skip the update</description></item>
/// </list>
/// </remarks>
public static class Clip
{
    /// <summary>Clamps every gradient element to [−<paramref name="limit"/>, <paramref name="limit"/>], as <c>torch.nn.utils.clip_grad_value_</c>.</summary>
    /// <param name="limit">Clamp limit, finite and &gt; 0.</param>
    public static IClippingPolicy Value(double limit)
    {
        RequirePositive(limit, nameof(limit), "Clip.Value");
        return new ValueClipping(limit);
    }

    /// <summary>Scales all gradients together so that their total q-norm is at most <paramref name="maxNorm"/>, as <c>torch.nn.utils.clip_grad_norm_</c>.</summary>
    /// <param name="maxNorm">Largest allowed total norm, finite and &gt; 0.</param>
    /// <param name="normType">q: a finite number &gt; 0, or <see cref="double.PositiveInfinity"/>. Default 2.</param>
    public static IClippingPolicy GlobalNorm(double maxNorm, double normType = 2)
    {
        RequirePositive(maxNorm, nameof(maxNorm), "Clip.GlobalNorm");
        if (!(normType > 0))
            throw new ArgumentOutOfRangeException(nameof(normType), normType, "Clip.GlobalNorm: normType must be > 0 (2 for L2, double.PositiveInfinity for max-abs).");
        return new GlobalNormClipping(maxNorm, normType);
    }

    /// <summary>Scales each parameter's gradient whose L2 norm exceeds <paramref name="maxNorm"/> down to it.</summary>
    /// <param name="maxNorm">Largest allowed norm per parameter, finite and &gt; 0.</param>
    public static IClippingPolicy PerParameterNorm(double maxNorm)
    {
        RequirePositive(maxNorm, nameof(maxNorm), "Clip.PerParameterNorm");
        return new PerParameterNormClipping(maxNorm);
    }

    /// <summary>AutoClip (Seetharaman et al. 2020): clip by global norm to the <paramref name="percentile"/>-th percentile of the last <paramref name="window"/> total norms.</summary>
    /// <param name="percentile">In (0, 100]; default 10.</param>
    /// <param name="window">Number of past norms kept, &gt;= 1; default 1000.</param>
    public static IClippingPolicy Adaptive(double percentile = 10, int window = 1000)
    {
        if (!(percentile > 0 && percentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "Clip.Adaptive: percentile must be in (0, 100].");
        if (window < 1)
            throw new ArgumentOutOfRangeException(nameof(window), window, "Clip.Adaptive: window must be at least 1.");
        return new AdaptiveClipping(percentile, window);
    }

    /// <summary>Adaptive Gradient Clipping (Brock et al. 2021): per output unit, ‖G_i‖ ≤ <paramref name="lambda"/>·max(‖W_i‖, <paramref name="eps"/>).</summary>
    /// <param name="lambda">Clipping ratio λ, finite and &gt; 0; default 0.01.</param>
    /// <param name="eps">Weight-norm floor, finite and &gt; 0; default 1e−3.</param>
    public static IClippingPolicy Unitwise(double lambda = 0.01, double eps = 1e-3)
    {
        RequirePositive(lambda, nameof(lambda), "Clip.Unitwise");
        RequirePositive(eps, nameof(eps), "Clip.Unitwise");
        return new UnitwiseClipping(lambda, eps);
    }

    /// <summary>ZClip (Kumar et al. 2025): clip total-norm outliers whose z-score against an EMA mean and variance exceeds <paramref name="z"/>.</summary>
    /// <param name="z">z-score threshold, finite and &gt; 0; default 2.5.</param>
    /// <param name="alpha">EMA factor in (0, 1); default 0.97.</param>
    /// <param name="warmupSteps">Steps that only initialise the statistics, &gt;= 1; default 25.</param>
    public static IClippingPolicy ZScore(double z = 2.5, double alpha = 0.97, int warmupSteps = 25)
    {
        RequirePositive(z, nameof(z), "Clip.ZScore");
        if (!(alpha > 0 && alpha < 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Clip.ZScore: alpha must be in (0, 1).");
        if (warmupSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "Clip.ZScore: warmupSteps must be at least 1.");
        return new ZScoreClipping(z, alpha, warmupSteps);
    }

    /// <summary>
    /// AdaGC (Wang et al. 2025): per-tensor clipping against each tensor's own EMA γᵢ of its clipped norm,
    /// ‖gᵢ‖ ≤ <paramref name="lambdaRel"/>·γᵢ, γᵢ ← β·γᵢ + (1 − β)·‖ĝᵢ‖; global clipping to
    /// <paramref name="lambdaAbs"/> for the first <paramref name="warmupSteps"/> steps. See <see cref="AdaGCClipping"/>.
    /// </summary>
    /// <param name="lambdaRel">λ_rel, finite and ≥ 1; default 1.05.</param>
    /// <param name="beta">β in (0, 1); default 0.98.</param>
    /// <param name="warmupSteps">Steps of global clipping, ≥ 1; default 100.</param>
    /// <param name="lambdaAbs">λ_abs, the warm-up's global norm limit, finite and &gt; 0; default 1.</param>
    public static IClippingPolicy AdaGC(double lambdaRel = 1.05, double beta = 0.98, int warmupSteps = 100, double lambdaAbs = 1.0)
    {
        if (!(lambdaRel >= 1) || double.IsInfinity(lambdaRel))
            throw new ArgumentOutOfRangeException(nameof(lambdaRel), lambdaRel, "Clip.AdaGC: lambdaRel must be a finite number >= 1 (1.05 lets a tensor's norm rise 5% above its average).");
        if (!(beta > 0 && beta < 1))
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "Clip.AdaGC: beta must be in (0, 1).");
        if (warmupSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "Clip.AdaGC: warmupSteps must be at least 1.");
        RequirePositive(lambdaAbs, nameof(lambdaAbs), "Clip.AdaGC");
        return new AdaGCClipping(lambdaRel, beta, warmupSteps, lambdaAbs);
    }

    /// <summary>
    /// Skips the update when the total gradient norm (or, with <paramref name="signals"/>, the loss recorded by <c>monitor.Capture(loss)</c>) lies more
    /// than <paramref name="z"/> robust standard deviations (1.4826 · MAD) above its median on the log scale over the
    /// previous <paramref name="window"/> steps and at least <paramref name="minRatio"/> times that median (OLMo's rule,
    /// made robust to heavy-tailed mini-batches). See <see cref="SpikeSkipping"/>.
    /// </summary>
    /// <param name="z">Threshold in robust standard deviations of ln x, finite and &gt; 0; default 6.</param>
    /// <param name="window">Previous steps the statistics cover, ≥ 2; default 128.</param>
    /// <param name="warmupSteps">Values seen before any skip, in [2, window]; default 20.</param>
    /// <param name="minRatio">A spike is also at least this many times its median, finite and ≥ 1; default 3.</param>
    /// <param name="signals">What to watch; default the gradient norm (see <see cref="SpikeSignals.Loss"/> for why not the loss).</param>
    public static IClippingPolicy SkipSpikes(double z = 6, int window = 128, int warmupSteps = 20, double minRatio = 3, SpikeSignals signals = SpikeSignals.GradientNorm)
    {
        RequirePositive(z, nameof(z), "Clip.SkipSpikes");
        if (!(minRatio >= 1) || double.IsInfinity(minRatio))
            throw new ArgumentOutOfRangeException(nameof(minRatio), minRatio, "Clip.SkipSpikes: minRatio must be a finite number >= 1.");
        if (signals == 0 || (signals & ~(SpikeSignals.GradientNorm | SpikeSignals.Loss)) != 0)
            throw new ArgumentOutOfRangeException(nameof(signals), signals, "Clip.SkipSpikes: signals must be GradientNorm, Loss or both.");
        if (window < 2)
            throw new ArgumentOutOfRangeException(nameof(window), window, "Clip.SkipSpikes: window must be at least 2.");
        if (warmupSteps < 2 || warmupSteps > window)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"Clip.SkipSpikes: warmupSteps must be in [2, window = {window}].");
        return new SpikeSkipping(z, window, warmupSteps, minRatio, signals);
    }

    /// <summary>NaN or Inf in any gradient: zero every gradient and skip the update, naming the parameters.</summary>
    public static IClippingPolicy SkipNonFinite() => new SkipNonFiniteGuard();

    /// <summary>Applies <paramref name="policies"/> in order (put <see cref="SkipNonFinite"/> first).</summary>
    public static IClippingPolicy Chain(params IClippingPolicy[] policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        if (policies.Length == 0) throw new ArgumentException("Clip.Chain needs at least one policy.", nameof(policies));
        for (int i = 0; i < policies.Length; i++)
            if (policies[i] is null) throw new ArgumentNullException(nameof(policies), $"Clip.Chain: policy #{i} is null.");
        return new ChainedClipping(policies.ToArray());
    }

    private static void RequirePositive(double value, string name, string where)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"{where}: {name} must be a finite number > 0.");
    }
}
