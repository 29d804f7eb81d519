using TorchSharp.Modules;

namespace GradientHooks.Clipping;

/// <summary>
/// AdaGC (Wang et al. 2025, "AdaGC: Enhancing LLM Pretraining Stability via Adaptive Gradient Clipping",
/// arXiv 2502.11034): every parameter tensor i is clipped against an exponential moving average γᵢ of its own
/// past clipped gradient norms, so a tensor whose gradient jumps is held back while the others keep their size.
/// <para>Warm-up, the first <see cref="WarmupSteps"/> steps (global clipping; γ tracks the smallest clipped norm):</para>
/// <c>h_t = min(λ_abs / ‖g_t‖, 1)</c> with ‖g_t‖ the total L2 norm, <c>ĝ_t,i = h_t·g_t,i</c>,
/// <c>γ_t,i = min(γ_t−1,i, ‖ĝ_t,i‖)</c> (γ_0,i = +∞).
/// <para>After it (per tensor):</para>
/// <c>h_t,i = min(λ_rel·γ_t−1,i / ‖g_t,i‖, 1)</c>, <c>ĝ_t,i = h_t,i·g_t,i</c>,
/// <c>γ_t,i = β·γ_t−1,i + (1 − β)·‖ĝ_t,i‖</c>.
/// <para>A tensor with no gradient (null, or norm 0) is left alone and its γ unchanged. A non-finite norm leaves every
/// gradient and γ as they are (put <see cref="Clip.SkipNonFinite"/> first).</para>
/// </summary>
public sealed class AdaGCClipping : IClippingPolicy
{
    private double[]? _gamma;
    private long _steps;

    internal AdaGCClipping(double lambdaRel, double beta, int warmupSteps, double lambdaAbs)
    {
        LambdaRel = lambdaRel;
        Beta = beta;
        WarmupSteps = warmupSteps;
        LambdaAbs = lambdaAbs;
    }

    /// <summary>λ_rel: how far above its own EMA a tensor's norm may go; default 1.05.</summary>
    public double LambdaRel { get; }

    /// <summary>β: EMA smoothing of the clipped norms; default 0.98.</summary>
    public double Beta { get; }

    /// <summary>Steps of global clipping to λ_abs before the per-tensor rule; default 100.</summary>
    public int WarmupSteps { get; }

    /// <summary>λ_abs: the global norm limit during warm-up; default 1.0.</summary>
    public double LambdaAbs { get; }

    /// <summary>The current γᵢ per parameter (empty before the first step).</summary>
    public IReadOnlyList<double> Gamma => _gamma ?? (IReadOnlyList<double>)Array.Empty<double>();

    /// <inheritdoc />
    public ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null)
    {
        GradientMath.ThrowIfEmpty(parameters, nameof(AdaGCClipping));
        var norms = GradientMath.Norms(parameters, step);
        double total = GradientMath.Total(norms);
        if (_gamma is null || _gamma.Length != norms.Length)
        {
            _gamma = new double[norms.Length];
            Array.Fill(_gamma, double.PositiveInfinity);
        }
        if (!double.IsFinite(total))
            return new ClipResult(total, total, false, false, $"total norm is {total}; AdaGC left the gradients and its averages alone");

        var h = new double[norms.Length];
        bool warmup = _steps < WarmupSteps;
        double global = warmup ? Math.Min(LambdaAbs / total, 1) : 1;
        int clippedTensors = 0;
        for (int i = 0; i < norms.Length; i++)
        {
            if (!(norms[i] > 0)) { h[i] = 1; continue; }
            h[i] = warmup ? global
                : double.IsPositiveInfinity(_gamma[i]) ? 1   // a tensor first seen after warm-up starts its average unclipped
                : Math.Min(LambdaRel * _gamma[i] / norms[i], 1);
            double clipped = h[i] * norms[i];
            _gamma[i] = warmup || double.IsPositiveInfinity(_gamma[i]) ? Math.Min(_gamma[i], clipped) : Beta * _gamma[i] + (1 - Beta) * clipped;
            if (h[i] < 1) clippedTensors++;
        }
        _steps++;
        if (clippedTensors == 0) return ClipResult.Unchanged(total);
        GradientMath.Scale(parameters, h);
        double after = Math.Sqrt(norms.Select((n, i) => n * h[i] * n * h[i]).Sum());
        return new ClipResult(total, after, true, false, warmup
            ? $"AdaGC warm-up: total norm {total:G4} clipped to λ_abs {LambdaAbs:G3}"
            : $"AdaGC: {clippedTensors} tensor(s) above λ_rel × their EMA norm clipped");
    }

    /// <inheritdoc />
    public override string ToString() => $"Clip.AdaGC({LambdaRel:G3}, {Beta:G3}, {WarmupSteps})";

    /// <inheritdoc />
    public bool IsStateful => true;

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer)
    {
        writer.Write(_steps);
        writer.Write(_gamma?.Length ?? -1);
        if (_gamma != null) foreach (var g in _gamma) writer.Write(g);
    }

    /// <inheritdoc />
    public void ReadState(BinaryReader reader)
    {
        _steps = reader.ReadInt64();
        int n = reader.ReadInt32();
        _gamma = n < 0 ? null : new double[n];
        for (int i = 0; i < n; i++) _gamma![i] = reader.ReadDouble();
    }
}
