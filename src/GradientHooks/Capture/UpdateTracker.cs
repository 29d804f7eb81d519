using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Capture;

/// <summary>
/// Measures ‖w_after − w_before‖ and ‖w_before‖ per parameter for one update: before it, a copy of each weight
/// (or of every k-th row, about <c>sampleSize</c> elements) into buffers allocated once; after it, Σ(w − w₀)² over
/// the same elements. Contiguous float32 CPU weights are read in place by managed SIMD (the copy computes Σw₀² as it
/// goes; no libtorch call, no tensor); other weights use libtorch on their device (copy_, sub_, a BLAS dot each) with
/// a single transfer. Only full steps are measured, so with <c>Every = N</c> weights are copied once per N steps.
/// </summary>
internal sealed class UpdateTracker : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly long[] _strides;   // every stride-th output unit (row) is measured
    private readonly Tensor?[] _views;  // flat detached views of unsampled parameters, made once (in-place updates show through)
    private Tensor[]? _snapshot;
    private Tensor? _weightSquares;
    private readonly bool[] _managed;            // float32, CPU: measured by CpuRows
    private readonly float[]?[] _copies;         // managed snapshots of the sampled rows
    private readonly double[] _managedSquares;   // Σw₀² of the managed snapshots

    public UpdateTracker(Parameter[] parameters, int sampleSize)
    {
        _parameters = parameters;
        // Rows, not elements: a row is contiguous, so a sample of rows reads only those rows; an element stride
        // wider than a cache line would touch the whole tensor anyway.
        _strides = parameters.Select(p => sampleSize <= 0 || p.numel() <= sampleSize || p.dim() < 2
            ? 1L : Math.Min(p.shape[0], (p.numel() + sampleSize - 1) / sampleSize)).ToArray();
        _views = new Tensor?[parameters.Length];
        _managed = parameters.Select(p => p.device_type == DeviceType.CPU && p.dtype == ScalarType.Float32).ToArray();
        _copies = new float[]?[parameters.Length];
        _managedSquares = new double[parameters.Length];
        _rows = parameters.Select(p => p.dim() < 2 ? 1L : p.shape[0]).ToArray();
        _counts = parameters.Select(p => p.numel()).ToArray();
    }

    private readonly long[] _rows;     // output units (1 for vectors), fixed at attach
    private readonly long[] _counts;   // numel, fixed at attach

    /// <summary>The sampled rows of a contiguous float32 CPU weight, read in place: (row length, rows, stride); false when it is not readable in place.</summary>
    private bool TryRows(int i, out Span<float> data, out long rowLength, out long rows)
    {
        data = default;
        rows = _rows[i];
        rowLength = rows == 0 ? 0 : _counts[i] / rows;
        Span<byte> bytes;
        try { bytes = _parameters[i].bytes; }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException) { _managed[i] = false; return false; }
        if (bytes.Length != _counts[i] * sizeof(float)) { _managed[i] = false; return false; }
        data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes);
        return true;
    }

    private void SnapshotManaged(int i)
    {
        if (!TryRows(i, out var data, out long rowLength, out long rows)) return;
        long stride = _strides[i], sampled = (rows + stride - 1) / stride;
        var copy = _copies[i] ??= new float[sampled * rowLength];
        double squares = 0;
        for (long r = 0, k = 0; r < rows; r += stride, k++)
        {
            var source = data.Slice((int)(r * rowLength), (int)rowLength);
            var target = copy.AsSpan((int)(k * rowLength), (int)rowLength);
            source.CopyTo(target);
            squares += SumOfSquares(target);
        }
        _managedSquares[i] = squares;
    }

    private double DeltaManaged(int i)
    {
        if (_copies[i] is not { } copy || !TryRows(i, out var data, out long rowLength, out long rows)) return double.NaN;
        long stride = _strides[i];
        double delta = 0;
        for (long r = 0, k = 0; r < rows; r += stride, k++)
            delta += SquaredDistance(data.Slice((int)(r * rowLength), (int)rowLength), copy.AsSpan((int)(k * rowLength), (int)rowLength));
        return delta;
    }

    /// <summary>Σx² in float32 lanes (four chains, flushed to double every 1,024 elements), the tail in double.</summary>
    private static double SumOfSquares(ReadOnlySpan<float> x) => SquaredDistance(x, default, subtract: false);

    /// <summary>Σ(x − y)² (or Σx² when <paramref name="subtract"/> is false), vectorised like <see cref="FusedReduction"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static double SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y, bool subtract = true)
    {
        var vx = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(x);
        var vy = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(y);
        var a = System.Numerics.Vector<float>.Zero; var b = a; var c = a; var d = a;
        double total = 0;
        int v = 0;
        while (v < vx.Length)
        {
            int end = Math.Min(vx.Length, v + 128);
            for (; v + 4 <= end; v += 4)
            {
                var e0 = subtract ? vx[v] - vy[v] : vx[v];
                var e1 = subtract ? vx[v + 1] - vy[v + 1] : vx[v + 1];
                var e2 = subtract ? vx[v + 2] - vy[v + 2] : vx[v + 2];
                var e3 = subtract ? vx[v + 3] - vy[v + 3] : vx[v + 3];
                a = System.Numerics.Vector.FusedMultiplyAdd(e0, e0, a);
                b = System.Numerics.Vector.FusedMultiplyAdd(e1, e1, b);
                c = System.Numerics.Vector.FusedMultiplyAdd(e2, e2, c);
                d = System.Numerics.Vector.FusedMultiplyAdd(e3, e3, d);
            }
            for (; v < end; v++)
            {
                var e = subtract ? vx[v] - vy[v] : vx[v];
                a = System.Numerics.Vector.FusedMultiplyAdd(e, e, a);
            }
            total += System.Numerics.Vector.Sum((a + b) + (c + d));
            a = b = c = d = System.Numerics.Vector<float>.Zero;
        }
        for (int i = vx.Length * System.Numerics.Vector<float>.Count; i < x.Length; i++)
        {
            double e = subtract ? (double)x[i] - y[i] : x[i];
            total += e * e;
        }
        return total;
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
        for (int i = 0; i < _parameters.Length; i++) if (_managed[i]) SnapshotManaged(i);
        // Buffers allocated once: a fresh multi-megabyte allocation per step costs more (page faults of a new
        // mapping) than the copy itself.
        _snapshot ??= new Tensor[_parameters.Length];
        var squares = new List<Tensor>();
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_managed[i]) continue;
            var w = Sample(i);
            _snapshot[i] ??= torch.empty_like(w).DetachFromDisposeScope();
            _snapshot[i].copy_(w);
            squares.Add(torch.matmul(_snapshot[i], _snapshot[i]));
        }
        _weightSquares?.Dispose();
        _weightSquares = squares.Count == 0 ? null : torch.stack(SameType(squares.ToArray())).DetachFromDisposeScope();
        Pending = record;
    }

    public void Complete()
    {
        if (_snapshot is null || Pending is null) return;
        using (var noGrad = torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            var deltas = new List<Tensor>();
            for (int i = 0; i < _parameters.Length; i++)
            {
                if (_managed[i]) continue;
                var d = _snapshot[i].sub_(Sample(i));
                deltas.Add(torch.matmul(d, d));
            }
            double[] values = Array.Empty<double>();
            if (deltas.Count > 0 && _weightSquares is not null)
            {
                var stacked = torch.stack(SameType(deltas.ToArray()));
                values = torch.cat(new[] { stacked, _weightSquares.to_type(stacked.dtype) }).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
            }
            var norms = new (double Delta, double Weight)[_parameters.Length];
            for (int i = 0, k = 0; i < norms.Length; i++)
            {
                double delta2, weight2;
                if (_managed[i]) { delta2 = DeltaManaged(i); weight2 = _managedSquares[i]; }
                else { delta2 = values[k]; weight2 = values[deltas.Count + k]; k++; }
                // A row sample estimates the full norms; scale both by sqrt(rows / sampled rows) so layer aggregates stay comparable.
                long rows = _parameters[i].dim() < 2 ? 1 : _parameters[i].shape[0];
                double scale = _strides[i] == 1 ? 1 : Math.Sqrt(rows / (double)((rows + _strides[i] - 1) / _strides[i]));
                norms[i] = (Math.Sqrt(delta2) * scale, Math.Sqrt(weight2) * scale);
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
        if (_snapshot != null) foreach (var t in _snapshot) t?.Dispose();
        for (int i = 0; i < _views.Length; i++) { _views[i]?.Dispose(); _views[i] = null; }
        _weightSquares?.Dispose();
        _snapshot = null;
        _weightSquares = null;
    }
}
