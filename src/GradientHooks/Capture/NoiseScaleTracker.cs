using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Capture;

/// <summary>
/// The gradient noise scale from the micro-batches of gradient accumulation (<see cref="MonitorOptions.TrackNoiseScale"/>).
/// After micro-batch i's backward, <c>p.grad</c> holds Aᵢ = Σ_{j≤i} gⱼ/M; its own share is dᵢ = Aᵢ − Aᵢ₋₁ (a float32
/// copy of Aᵢ₋₁ is kept), so |gᵢ|² = M²·|dᵢ|². Per parameter, Σ|dᵢ|² accumulates on the gradients' device; a full
/// capture brings it to .NET in its own transfer and takes |A_M|² from its Σg² (a light one reads both in one transfer), are divided by the loss scale², summed
/// per layer and over the model, turned into unbiased |G|² and tr(Σ) (<see cref="MicroBatchMoments.Estimate"/>) and
/// averaged (bias-corrected EMA) before their ratio is taken.
/// </summary>
internal sealed class NoiseScaleTracker : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly int[] _layerOf;          // parameter → layer index
    private readonly string[] _layers;
    private readonly double _beta;
    private readonly Tensor?[] _previous;
    private Tensor? _shares;                  // Σᵢ |dᵢ|² per parameter (float64)
    private int _microBatches;
    private double _inverseExamples;
    private long _examples;
    // Moving averages of |G|² and tr(Σ): per layer, then the model (last slot), and how many estimates went in.
    private double[] _gradient, _trace;
    private long _estimates;

    public NoiseScaleTracker(Parameter[] parameters, IReadOnlyList<ParameterInfo> info, double beta)
    {
        _parameters = parameters;
        _layers = info.Select(p => p.Layer).Distinct().ToArray();
        _layerOf = info.Select(p => Array.IndexOf(_layers, p.Layer)).ToArray();
        _beta = beta;
        _previous = new Tensor?[parameters.Length];
        _gradient = new double[_layers.Length + 1];
        _trace = new double[_layers.Length + 1];
    }

    /// <summary>Micro-batches reported since the last capture.</summary>
    public int MicroBatches => _microBatches;

    /// <summary>Reads each gradient once: the micro-batch's share since the last call, and the accumulated gradient's squared norm.</summary>
    public void MicroBatch(long examples)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var shares = new Tensor[_parameters.Length];
        Device? device = null;
        for (int i = 0; i < _parameters.Length; i++)
        {
            var g = _parameters[i].grad;
            if (g is null || g.numel() == 0)
            {
                shares[i] = torch.zeros(Array.Empty<long>(), ScalarType.Float64);
                continue;
            }
            device ??= g.device;
            var precision = g.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
            var current = g.to_type(precision).flatten();
            var previous = _previous[i];
            if (previous is null || previous.numel() != current.numel() || previous.dtype != precision || previous.device_type != g.device_type || previous.device_index != g.device_index)
            {
                previous?.Dispose();
                previous = _previous[i] = torch.zeros_like(current).DetachFromDisposeScope();
            }
            // The first micro-batch of a step starts from zeroed gradients: its share is the whole gradient. |d|² as a
            // dot product: one pass, no temporary beyond the difference.
            var share = _microBatches == 0 ? current : current - previous;
            shares[i] = share.dot(share).to_type(ScalarType.Float64);
            previous.copy_(current);
        }
        if (device is null) throw new InvalidOperationException("CaptureMicroBatch found no gradients: call it after the micro-batch's loss.backward().");
        var shareSums = torch.stack(shares.Select(t => t.to(device)).ToArray());
        var updated = _shares is null ? shareSums : _shares + shareSums;
        _shares?.Dispose();
        _shares = updated.DetachFromDisposeScope();
        _microBatches++;
        _inverseExamples += 1.0 / examples;
        _examples += examples;
    }

    /// <summary>
    /// This step's Σᵢ|dᵢ|² per parameter (float64, on the gradients' device), for a full capture to bring to .NET in its
    /// own transfer; null with fewer than two micro-batches (nothing to estimate).
    /// </summary>
    public Tensor? Shares => _microBatches >= 2 ? _shares : null;

    /// <summary>
    /// Ends a fully captured step: <paramref name="shares"/> are <see cref="Shares"/> as the capture's transfer brought
    /// them, and |A_M|² is each parameter's Σg² in <paramref name="stats"/> (already divided by the loss scale², as the
    /// shares are here), so no gradient is read again.
    /// </summary>
    public void Complete(StepRecord record, ReadOnlySpan<double> shares, IReadOnlyList<GradientStats> stats, float inverseScale)
    {
        double unscale = (double)inverseScale * inverseScale;
        var scaled = new double[shares.Length];
        for (int i = 0; i < shares.Length; i++) scaled[i] = shares[i] * unscale;
        End(record, scaled, stats.Select(g => g.SumOfSquares).ToArray());
    }

    /// <summary>
    /// Ends a step captured without statistics: reads Σᵢ|dᵢ|² and |A_M|² (from the copy the last micro-batch left, one
    /// dot product per parameter) in one transfer, divided by <paramref name="lossScale"/>² when the loss was scaled.
    /// </summary>
    public void Complete(StepRecord record, double? lossScale)
    {
        if (Shares is not { } pending) { End(record, null, null); return; }
        double[] values;
        using (var scope = torch.NewDisposeScope())
        {
            var norms = _previous.Select(t => t is null ? torch.zeros(Array.Empty<long>(), ScalarType.Float64, pending.device) : t.dot(t).to_type(ScalarType.Float64).to(pending.device)).ToArray();
            values = torch.cat(new[] { pending, torch.stack(norms) }).cpu().data<double>().ToArray();
        }
        double unscale = lossScale is double s ? 1 / (s * s) : 1;
        int p = _parameters.Length;
        End(record, values.Take(p).Select(v => v * unscale).ToArray(), values.Skip(p).Select(v => v * unscale).ToArray());
    }

    /// <summary>
    /// Sets the record's batch and, given true-scale per-parameter Σᵢ|dᵢ|² and |A_M|², its noise statistics and the moving
    /// averages (nothing is averaged in from a step that overflowed); then starts the next step.
    /// </summary>
    private void End(StepRecord record, double[]? shares, double[]? accumulated)
    {
        if (_microBatches == 0) return;
        try
        {
            record.BatchExamples = _examples;
            record.MicroBatches = _microBatches;
            if (shares is null || accumulated is null) return;
            int layers = _layers.Length;
            var layerShares = new double[layers + 1];
            var layerAccumulated = new double[layers + 1];
            for (int i = 0; i < _parameters.Length; i++)
            {
                layerShares[_layerOf[i]] += shares[i];
                layerAccumulated[_layerOf[i]] += accumulated[i];
                layerShares[layers] += shares[i];
                layerAccumulated[layers] += accumulated[i];
            }
            if (layerShares.Concat(layerAccumulated).Any(v => !double.IsFinite(v))) return;   // an overflowed step says nothing
            double m = _microBatches;
            _estimates++;
            double correction = 1 - Math.Pow(_beta, _estimates);
            var stats = new NoiseScaleStats[layers + 1];
            for (int l = 0; l <= layers; l++)
            {
                // Σ|gᵢ|² = M² Σ|dᵢ|²: each micro-batch's loss was divided by M.
                var moments = new MicroBatchMoments(_microBatches, _inverseExamples, m * m * layerShares[l]);
                var (g2, trace) = moments.Estimate(layerAccumulated[l])!.Value;
                _gradient[l] = _beta * _gradient[l] + (1 - _beta) * g2;
                _trace[l] = _beta * _trace[l] + (1 - _beta) * trace;
                stats[l] = new NoiseScaleStats(l == layers ? NoiseScaleStats.Model : _layers[l], _gradient[l] / correction, _trace[l] / correction);
            }
            record.Noise = stats[layers];
            record.LayerNoise = stats.Take(layers).ToArray();
        }
        finally
        {
            _shares?.Dispose();
            _shares = null;
            _microBatches = 0;
            _inverseExamples = 0;
            _examples = 0;
        }
    }

    /// <summary>Writes the moving averages (a checkpoint, between steps).</summary>
    public void Write(BinaryWriter writer)
    {
        writer.Write(_layers.Length);
        writer.Write(_estimates);
        for (int l = 0; l <= _layers.Length; l++) { writer.Write(_gradient[l]); writer.Write(_trace[l]); }
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    public void Read(BinaryReader reader)
    {
        int layers = reader.ReadInt32();
        if (layers != _layers.Length) throw new InvalidDataException($"the checkpoint's noise scale covers {layers} layers; this monitor has {_layers.Length}.");
        _estimates = reader.ReadInt64();
        for (int l = 0; l <= layers; l++) { _gradient[l] = reader.ReadDouble(); _trace[l] = reader.ReadDouble(); }
    }

    public void Dispose()
    {
        foreach (var t in _previous) t?.Dispose();
        _shares?.Dispose();
    }
}
