using TorchSharp.Modules;

namespace GradientHooks.Clipping;

/// <summary>
/// ZClip (Kumar, Owen, Chowdhury, Güra 2025, "ZClip: Adaptive Spike Mitigation for LLM Pre-Training"): keeps an
/// exponential moving mean μ and variance σ² of the total gradient norm g. The first <c>WarmupSteps</c> norms only
/// initialise μ and σ² (their mean and population variance). After that, with z = (g − μ)/(σ + 1e−6), a step with
/// z &gt; z_thres is clipped by global norm to μ + z_thres·σ / (z / z_thres) ("adaptive scaling": the larger the
/// outlier, the harder the clip). The statistics then absorb the norm actually used:
/// μ ← α·μ + (1 − α)·g', σ² ← α·σ² + (1 − α)·(g' − μ)².
/// </summary>
public sealed class ZScoreClipping : IClippingPolicy
{
    private readonly List<double> _warmup = new();
    private double _mean, _variance;
    private bool _initialized;

    internal ZScoreClipping(double z, double alpha, int warmupSteps)
    {
        Z = z;
        Alpha = alpha;
        WarmupSteps = warmupSteps;
    }

    /// <summary>z-score threshold; default 2.5.</summary>
    public double Z { get; }

    /// <summary>EMA smoothing factor α in (0, 1); default 0.97.</summary>
    public double Alpha { get; }

    /// <summary>Steps used to initialise μ and σ² before any clipping; default 25.</summary>
    public int WarmupSteps { get; }

    /// <summary>Current EMA mean μ of the total norm (NaN during warm-up).</summary>
    public double Mean => _initialized ? _mean : double.NaN;

    /// <summary>Current EMA standard deviation σ of the total norm (NaN during warm-up).</summary>
    public double StandardDeviation => _initialized ? Math.Sqrt(_variance) : double.NaN;

    /// <inheritdoc />
    public ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null)
    {
        GradientMath.ThrowIfEmpty(parameters, nameof(ZScoreClipping));
        double total = GradientMath.Total(GradientMath.Norms(parameters, step));
        if (!double.IsFinite(total))
            return new ClipResult(total, total, false, false, $"total norm is {total}; not added to the ZClip statistics");
        if (!_initialized)
        {
            _warmup.Add(total);
            if (_warmup.Count >= WarmupSteps)
            {
                _mean = _warmup.Average();
                _variance = _warmup.Sum(x => (x - _mean) * (x - _mean)) / _warmup.Count;
                _initialized = true;
                _warmup.Clear();
            }
            return ClipResult.Unchanged(total);
        }
        double sigma = Math.Sqrt(_variance);
        double z = (total - _mean) / (sigma + 1e-6);
        double used = total;
        ClipResult result = ClipResult.Unchanged(total);
        if (z > Z)
        {
            double threshold = _mean + Z * sigma / (z / Z);
            double coefficient = threshold / (total + 1e-6);
            if (coefficient < 1)
            {
                GradientMath.Scale(parameters, coefficient);
                used = total * coefficient;
                result = new ClipResult(total, used, true, false, $"z-score {z:F2} > {Z:G3} (μ {_mean:G4}, σ {sigma:G4}); clipped to {threshold:G4}") { Threshold = threshold };
            }
        }
        _mean = Alpha * _mean + (1 - Alpha) * used;
        _variance = Alpha * _variance + (1 - Alpha) * (used - _mean) * (used - _mean);
        return result;
    }

    /// <inheritdoc />
    public override string ToString() => $"Clip.ZScore({Z:G3}, {Alpha:G3})";

    /// <inheritdoc />
    public bool IsStateful => true;

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer)
    {
        writer.Write(_initialized);
        writer.Write(_mean);
        writer.Write(_variance);
        writer.Write(_warmup.Count);
        foreach (var x in _warmup) writer.Write(x);
    }

    /// <inheritdoc />
    public void ReadState(BinaryReader reader)
    {
        _initialized = reader.ReadBoolean();
        _mean = reader.ReadDouble();
        _variance = reader.ReadDouble();
        int n = reader.ReadInt32();
        if (n < 0 || n > WarmupSteps) throw new InvalidDataException($"{this}: the saved warm-up holds {n} norms; this policy warms up over {WarmupSteps}.");
        _warmup.Clear();
        for (int i = 0; i < n; i++) _warmup.Add(reader.ReadDouble());
    }
}
