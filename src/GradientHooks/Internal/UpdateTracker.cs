using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Internal;

/// <summary>
/// Measures ‖w_after − w_before‖ and ‖w_before‖ per parameter for one update: before it, a copy of each weight
/// (or of every k-th row, about <c>sampleSize</c> elements) into buffers allocated once, outside every
/// dispose scope; after it, one subtraction and one Σ² per parameter, with a single transfer. Only full steps are
/// measured, so with <c>Every = N</c> weights are copied once per N steps.
/// </summary>
internal sealed class UpdateTracker : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly long[] _strides;   // every stride-th output unit (row) is measured
    private Tensor[]? _snapshot;
    private Tensor? _weightSquares;

    public UpdateTracker(Parameter[] parameters, int sampleSize)
    {
        _parameters = parameters;
        // Rows, not elements: a row is contiguous, so a sample of rows reads only those rows; an element stride
        // wider than a cache line would touch the whole tensor anyway.
        _strides = parameters.Select(p => sampleSize <= 0 || p.numel() <= sampleSize || p.dim() < 2
            ? 1L : Math.Min(p.shape[0], (p.numel() + sampleSize - 1) / sampleSize)).ToArray();
    }

    /// <summary>The record whose update is being measured, between <see cref="Snapshot"/> and <see cref="Complete"/>.</summary>
    public StepRecord? Pending { get; private set; }

    /// <summary>The elements measured, flattened: the whole weight, or every stride-th output unit (row) of it.</summary>
    private Tensor Sample(int i)
    {
        var w = _parameters[i].detach();
        if (_strides[i] == 1) return w.reshape(-1);
        var rows = w.reshape(w.shape[0], -1);
        return rows.slice(0, 0, rows.shape[0], _strides[i]).reshape(-1);   // copies only the sampled rows
    }

    public void Snapshot(StepRecord record)
    {
        Pending = null;
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        // Buffers allocated once: a fresh multi-megabyte allocation per step costs more (page faults of a new
        // mapping) than the copy itself.
        _snapshot ??= Enumerable.Range(0, _parameters.Length).Select(i => torch.empty_like(Sample(i)).DetachFromDisposeScope()).ToArray();
        var squares = new Tensor[_parameters.Length];
        for (int i = 0; i < _parameters.Length; i++)
        {
            var w = Sample(i);
            _snapshot[i].copy_(w);
            squares[i] = torch.matmul(_snapshot[i], _snapshot[i]).to_type(ScalarType.Float64);
        }
        _weightSquares?.Dispose();
        _weightSquares = torch.stack(squares).DetachFromDisposeScope();
        Pending = record;
    }

    public void Complete()
    {
        if (_snapshot is null || _weightSquares is null || Pending is null) return;
        using (var noGrad = torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            var deltas = new Tensor[_parameters.Length];
            for (int i = 0; i < _parameters.Length; i++)
            {
                var d = _snapshot[i].sub_(Sample(i));
                deltas[i] = torch.matmul(d, d).to_type(ScalarType.Float64);
            }
            var values = torch.cat(new[] { torch.stack(deltas), _weightSquares }).cpu().data<double>().ToArray();
            var norms = new (double Delta, double Weight)[_parameters.Length];
            for (int i = 0; i < norms.Length; i++)
            {
                // A row sample estimates the full norms; scale both by sqrt(rows / sampled rows) so layer aggregates stay comparable.
                long rows = _parameters[i].dim() < 2 ? 1 : _parameters[i].shape[0];
                double scale = _strides[i] == 1 ? 1 : Math.Sqrt(rows / (double)((rows + _strides[i] - 1) / _strides[i]));
                norms[i] = (Math.Sqrt(values[i]) * scale, Math.Sqrt(values[norms.Length + i]) * scale);
            }
            Pending.SetUpdateNorms(norms);
        }
        Pending = null;
    }

    /// <summary>Forgets a pending measurement (the buffers are kept for the next one).</summary>
    public void Cancel() => Pending = null;

    public void Dispose()
    {
        Pending = null;
        if (_snapshot != null) foreach (var t in _snapshot) t.Dispose();
        _weightSquares?.Dispose();
        _snapshot = null;
        _weightSquares = null;
    }
}
