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
    private readonly Tensor?[] _views;  // flat detached views of unsampled parameters, made once (in-place updates show through)
    private Tensor[]? _snapshot;
    private Tensor? _weightSquares;

    public UpdateTracker(Parameter[] parameters, int sampleSize)
    {
        _parameters = parameters;
        // Rows, not elements: a row is contiguous, so a sample of rows reads only those rows; an element stride
        // wider than a cache line would touch the whole tensor anyway.
        _strides = parameters.Select(p => sampleSize <= 0 || p.numel() <= sampleSize || p.dim() < 2
            ? 1L : Math.Min(p.shape[0], (p.numel() + sampleSize - 1) / sampleSize)).ToArray();
        _views = new Tensor?[parameters.Length];
    }

    /// <summary>The record whose update is being measured, between <see cref="Snapshot"/> and <see cref="Complete"/>.</summary>
    public StepRecord? Pending { get; private set; }

    /// <summary>The elements measured, flattened: the whole weight, or every stride-th output unit (row) of it.</summary>
    private Tensor Sample(int i)
    {
        if (_views[i] is { } view) return view;
        var w = _parameters[i].detach();
        if (_strides[i] == 1)
        {
            // Fewer native calls per step: a tiny model's step is dominated by per-call overhead, not by arithmetic.
            // Only a contiguous weight has a flat view that later in-place updates show through (reshape copies otherwise).
            if (!w.is_contiguous()) return w.reshape(-1);
            return _views[i] = w.reshape(-1).DetachFromDisposeScope();
        }
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
            squares[i] = torch.matmul(_snapshot[i], _snapshot[i]);
        }
        _weightSquares?.Dispose();
        _weightSquares = torch.stack(SameType(squares)).DetachFromDisposeScope();
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
                deltas[i] = torch.matmul(d, d);
            }
            var stacked = torch.stack(SameType(deltas));
            var values = torch.cat(new[] { stacked, _weightSquares.to_type(stacked.dtype) })
                .to_type(ScalarType.Float64).cpu().data<double>().ToArray();
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

    /// <summary>The scalars in one dtype (the first one's), converting only those that differ, so one stack serves all.</summary>
    private static Tensor[] SameType(Tensor[] scalars)
    {
        if (scalars.All(t => t.dtype == scalars[0].dtype)) return scalars;
        return scalars.Select(t => t.to_type(ScalarType.Float64)).ToArray();
    }

    public void Dispose()
    {
        Pending = null;
        if (_snapshot != null) foreach (var t in _snapshot) t.Dispose();
        for (int i = 0; i < _views.Length; i++) { _views[i]?.Dispose(); _views[i] = null; }
        _weightSquares?.Dispose();
        _snapshot = null;
        _weightSquares = null;
    }
}
