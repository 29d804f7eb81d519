using GradientHooks.Diagnostics;

namespace GradientHooks.MLNet.Training;

/// <summary>Accumulates one epoch's step records into a <see cref="TorchMlpEpoch"/>: sums and counts only, no record kept.</summary>
internal sealed class EpochTally
{
    private readonly Dictionary<string, (double Sum, int Count)> _layers = new();
    private double _lossSum, _normSum, _normMax = double.NegativeInfinity;
    private int _lossCount, _normCount, _steps, _clipped, _skipped;

    public void Add(StepRecord record)
    {
        _steps++;
        if (record.Clipping?.Clipped == true) _clipped++;
        if (record.Skipped) _skipped++;
        if (record.Loss is double loss && double.IsFinite(loss) && !record.Skipped)
        {
            _lossSum += loss;
            _lossCount++;
        }
        if (!record.IsFull) return;
        var norm = record.TotalNorm;
        if (double.IsFinite(norm))
        {
            _normSum += norm;
            _normCount++;
        }
        _normMax = double.IsNaN(norm) || norm > _normMax ? norm : _normMax;
        foreach (var layer in record.Layers)
        {
            _layers.TryGetValue(layer.Layer, out var acc);
            _layers[layer.Layer] = (acc.Sum + layer.Gradient.Norm, acc.Count + 1);
        }
    }

    public TorchMlpEpoch ToEpoch(int epoch, TimeSpan elapsed, Diagnosis diagnosis) => new(
        epoch,
        _lossCount == 0 ? double.NaN : _lossSum / _lossCount,
        _normCount == 0 ? double.NaN : _normSum / _normCount,
        double.IsNegativeInfinity(_normMax) ? double.NaN : _normMax,
        _layers.ToDictionary(kv => kv.Key, kv => kv.Value.Sum / kv.Value.Count),
        _steps, _clipped, _skipped, elapsed, diagnosis);
}
