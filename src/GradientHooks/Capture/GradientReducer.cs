using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Capture;

/// <summary>
/// The per-step hot path. Reads every parameter's gradient once and reduces it to Σg, Σg², min, max and the number
/// of exact zeros, plus, for the weights and biases of Linear/Conv layers, which output units received no gradient.
/// <list type="bullet">
/// <item>CPU gradients that are contiguous float32/float64/float16/bfloat16 (the usual case) go through
/// <see cref="FusedReduction"/>: one managed SIMD pass over each gradient's memory, split into chunks run in
/// parallel over the intra-op thread count; no libtorch kernel, no tensor allocated.</item>
/// <item>Every other gradient (another device, non-contiguous, other dtypes) is reduced by libtorch on its own
/// device (sum, BLAS dot, aminmax, count_nonzero, per-row amax for unit layers); those scalars, the per-row flags
/// and any extra scalars (loss, activation statistics) are stacked and brought to .NET in one transfer.</item>
/// </list>
/// A step with NaN/Inf recomputes the affected parameters exactly (libtorch's NaN semantics for max-abs, an exact
/// non-finite count) in a second transfer: only on that rare step. Callers hold a dispose scope.
/// </summary>
internal sealed class GradientReducer
{
    /// <summary>Elements per chunk of the fused pass (512 KiB of float32): large enough to amortise scheduling, small enough to balance two threads.</summary>
    internal const long ChunkElements = 1 << 17;

    /// <summary>
    /// Below this many elements the pass runs on the calling thread. Right after <c>backward()</c> libtorch's OpenMP
    /// workers keep spinning on the other cores for a while; measured on the reference MLP (0.93 M gradients, 2 cores)
    /// a two-thread pass inside a training loop took 434 µs against 354 µs on one thread, so a second thread only pays
    /// once the pass is long enough to outlast that spin.
    /// </summary>
    internal const long ParallelElements = 8L << 20;

    private const int TensorScalars = 5;   // Σg, Σg², min, max, zeros

    private readonly Parameter[] _parameters;
    private readonly Slot[] _slots;
    private readonly UnitLayer[] _units;
    private readonly Tensor?[] _grads;
    private readonly List<Tensor> _scalars;
    private readonly List<WorkItem> _work = new();
    private readonly ReductionPartial[] _partials;
    private readonly ParallelOptions _parallel;
    private readonly Action<int> _runItem;
    private readonly List<int> _tensorPath = new();
    private readonly bool[] _fusedThisStep;
    private ReductionPartial[] _itemResults = Array.Empty<ReductionPartial>();

    /// <summary>How a parameter is reduced, fixed at attach and downgraded to the tensor path if its gradient turns out not to be readable in place.</summary>
    private sealed class Slot
    {
        public long Count;
        public FusedReduction.ElementType? Fused;
        public long ElementSize;
        public long RowLength;           // > 0: per-row zero flags are wanted (unit weight: row = filter; unit bias: 1)
        public byte[] RowZero = Array.Empty<byte>();
        public bool RowsKnown;           // RowZero holds this step's flags
    }

    private readonly struct WorkItem
    {
        public WorkItem(int slot, IntPtr data, FusedReduction.ElementType type, long offset, long count, int firstRow, int rows, long rowLength)
        { Slot = slot; Data = data; Type = type; Offset = offset; Count = count; FirstRow = firstRow; Rows = rows; RowLength = rowLength; }
        public readonly int Slot;
        public readonly IntPtr Data;
        public readonly FusedReduction.ElementType Type;
        public readonly long Offset, Count;
        public readonly int FirstRow, Rows;
        public readonly long RowLength;
    }

    public GradientReducer(Parameter[] parameters, UnitLayer[] units, int threads, bool fused = true)
    {
        _parameters = parameters;
        _units = units;
        _grads = new Tensor?[parameters.Length];
        _slots = new Slot[parameters.Length];
        _partials = new ReductionPartial[parameters.Length];
        _fusedThisStep = new bool[parameters.Length];
        _scalars = new List<Tensor>(parameters.Length * TensorScalars + 8);
        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var slot = new Slot { Count = p.numel() };
            if (fused && p.device_type == DeviceType.CPU)
            {
                slot.Fused = p.dtype switch
                {
                    ScalarType.Float32 => FusedReduction.ElementType.Float32,
                    ScalarType.Float64 => FusedReduction.ElementType.Float64,
                    ScalarType.Float16 => FusedReduction.ElementType.Float16,
                    ScalarType.BFloat16 => FusedReduction.ElementType.BFloat16,
                    _ => null,
                };
                slot.ElementSize = p.element_size();
            }
            _slots[i] = slot;
        }
        foreach (var u in units)
        {
            _slots[u.Weight].RowLength = u.RowLength;
            _slots[u.Weight].RowZero = new byte[u.Units];
            if (u.Bias >= 0)
            {
                _slots[u.Bias].RowLength = 1;
                _slots[u.Bias].RowZero = new byte[u.Units];
            }
        }
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) };
        _runItem = RunItem;
    }

    /// <summary>Reads every <c>p.grad</c> once into the reused array; returns how many were present.</summary>
    public int ReadGradients()
    {
        int present = 0;
        for (int i = 0; i < _parameters.Length; i++)
        {
            var g = _parameters[i].grad;
            _grads[i] = g;
            if (g is not null) present++;
        }
        return present;
    }

    public Tensor? Grad(int i) => _grads[i];

    /// <summary>
    /// Full statistics of every gradient; <paramref name="extras"/> (each 1-D, any float dtype) ride along in the
    /// transfer and come back in order. Afterwards <see cref="Units"/> can read the unit flags of this step.
    /// </summary>
    public (GradientStats[] Stats, double[] Extras) Reduce(IReadOnlyList<Tensor> extras)
    {
        _scalars.Clear();
        _tensorPath.Clear();
        _work.Clear();
        var rowTensors = new List<Tensor>();
        var rowOwners = new List<int>();
        ScalarType? dtype = null;
        long fusedElements = 0;
        for (int i = 0; i < _grads.Length; i++)
        {
            var g = _grads[i];
            var slot = _slots[i];
            slot.RowsKnown = false;
            _fusedThisStep[i] = false;
            if (g is null || slot.Count == 0) continue;
            if (TryPlanFused(i, g, ref fusedElements)) continue;
            _tensorPath.Add(i);
            AddTensorScalars(g, ref dtype);
            if (slot.RowLength > 0)
            {
                // Per-row "no gradient" flags on the device: max |g| over each row (a bias: each element) is zero.
                var rows = slot.RowLength == 1 ? g.reshape(-1).abs() : g.reshape(slot.RowZero.Length, -1).abs().amax(1);
                rowTensors.Add(rows.eq(0));
                rowOwners.Add(i);
            }
        }
        RunFused(fusedElements);

        var parts = new List<Tensor>(extras.Count + rowTensors.Count + 1);
        foreach (var r in rowTensors) parts.Add(r);
        var values = Transfer(extras, dtype, parts);

        var stats = new GradientStats[_grads.Length];   // GradientStats.Empty for absent gradients
        List<int>? nonFinite = null;
        int at = 0;
        foreach (int i in _tensorPath)
        {
            double sum = values[at], sq = values[at + 1], min = values[at + 2], max = values[at + 3], zeros = values[at + 4];
            at += TensorScalars;
            double maxAbs = double.IsNaN(min) || double.IsNaN(max) ? double.NaN : Math.Max(Math.Abs(min), Math.Abs(max));
            long count = _slots[i].Count;
            stats[i] = new GradientStats(count, sum, sq, maxAbs, 0, Math.Clamp((long)Math.Round(zeros), 0, count));
            if (!double.IsFinite(sum) || !double.IsFinite(sq) || !double.IsFinite(maxAbs)) (nonFinite ??= new()).Add(i);
        }
        for (int i = 0; i < _grads.Length; i++)
        {
            if (!_fusedThisStep[i]) continue;
            var p = _partials[i];
            long count = _slots[i].Count;
            stats[i] = new GradientStats(count, p.Sum, p.SumOfSquares, p.MaxAbs, 0, Math.Min(p.Zeros, count));
            if (!p.IsFinite) (nonFinite ??= new()).Add(i);
        }
        for (int k = 0; k < rowOwners.Count; k++)
        {
            var slot = _slots[rowOwners[k]];
            for (int r = 0; r < slot.RowZero.Length; r++) slot.RowZero[r] = values[at + r] != 0 ? (byte)1 : (byte)0;
            slot.RowsKnown = true;
            at += slot.RowZero.Length;
        }
        if (nonFinite != null) RecomputeNonFinite(stats, nonFinite);
        return (stats, values[at..]);
    }

    /// <summary>Unit statistics of the step just reduced; streaks advance only when <paramref name="finite"/>.</summary>
    public UnitStats[] Units(bool finite, int horizon)
    {
        if (_units.Length == 0) return Array.Empty<UnitStats>();
        var result = new List<UnitStats>(_units.Length);
        foreach (var u in _units)
        {
            var w = _slots[u.Weight];
            if (!w.RowsKnown) continue;   // no gradient for this layer on this step
            var b = u.Bias >= 0 && _slots[u.Bias].RowsKnown ? _slots[u.Bias].RowZero : Array.Empty<byte>();
            result.Add(u.Observe(w.RowZero, b, finite, horizon));
        }
        return result.ToArray();
    }

    /// <summary>Plans the fused pass of parameter <paramref name="i"/>; false when its gradient must go through libtorch.</summary>
    private unsafe bool TryPlanFused(int i, Tensor g, ref long fusedElements)
    {
        var slot = _slots[i];
        if (slot.Fused is not FusedReduction.ElementType type) return false;
        _fusedThisStep[i] = false;
        Span<byte> bytes;
        try { bytes = g.bytes; }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            slot.Fused = null;   // moved to another device, non-contiguous or larger than 2 GiB: the tensor path from now on
            return false;
        }
        if (bytes.Length != slot.Count * slot.ElementSize) return false;   // dtype or shape changed since attach
        var data = (IntPtr)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(bytes));
        _partials[i] = ReductionPartial.Empty;
        _fusedThisStep[i] = true;
        if (slot.RowLength > 0)
        {
            int rows = slot.RowZero.Length;
            int perChunk = (int)Math.Clamp(ChunkElements / slot.RowLength, 1, rows);
            for (int r = 0; r < rows; r += perChunk)
            {
                int n = Math.Min(perChunk, rows - r);
                _work.Add(new WorkItem(i, data, type, r * slot.RowLength, n * slot.RowLength, r, n, slot.RowLength));
            }
            slot.RowsKnown = true;
        }
        else
            for (long at = 0; at < slot.Count; at += ChunkElements)
                _work.Add(new WorkItem(i, data, type, at, Math.Min(ChunkElements, slot.Count - at), 0, 0, 0));
        fusedElements += slot.Count;
        return true;
    }

    private void RunFused(long elements)
    {
        if (_work.Count == 0) return;
        if (_itemResults.Length < _work.Count) _itemResults = new ReductionPartial[_work.Count * 2];
        if (_work.Count > 1 && _parallel.MaxDegreeOfParallelism > 1 && elements >= ParallelElements)
            Parallel.For(0, _work.Count, _parallel, _runItem);
        else
            for (int k = 0; k < _work.Count; k++) RunItem(k);
        for (int k = 0; k < _work.Count; k++) _partials[_work[k].Slot].Add(_itemResults[k]);
    }

    private unsafe void RunItem(int k)
    {
        var item = _work[k];
        long size = _slots[item.Slot].ElementSize;
        var start = (byte*)item.Data + item.Offset * size;
        var rows = item.Rows > 0 ? _slots[item.Slot].RowZero.AsSpan(item.FirstRow, item.Rows) : Span<byte>.Empty;
        _itemResults[k] = FusedReduction.Reduce(start, item.Count, item.Type, item.RowLength, rows);
    }

    /// <summary>The libtorch reductions of one gradient: Σg, Σg² (BLAS dot), min and max (one aminmax pass), zeros (count_nonzero).</summary>
    private void AddTensorScalars(Tensor g, ref ScalarType? dtype)
    {
        var flat = g.reshape(-1);
        // float16/bfloat16 are reduced in float32: Σg² of float16 gradients overflows its 65504 long before they do.
        if (Precision.FloatFormat.IsLowPrecision(flat.dtype)) flat = flat.to_type(ScalarType.Float32);
        dtype ??= flat.dtype;
        var (min, max) = torch.aminmax(flat);
        var zeros = (flat.numel() - flat.count_nonzero()).to_type(g.dtype);
        var items = new[] { flat.sum(), torch.matmul(flat, flat), min, max, zeros };
        foreach (var t in items) _scalars.Add(t.dtype == dtype ? t : t.to_type(dtype.Value));
    }

    /// <summary>The cheap every-step check: true when any gradient holds NaN/Inf.</summary>
    public bool AnyNonFinite() => AnyNonFinite(null, out _);

    /// <summary>
    /// True when some gradient holds NaN/Inf. CPU gradients are checked in place (Σ (g − g) is 0 for finite g); the
    /// others by Σg on their device. <paramref name="extra"/> (a one-element tensor, e.g. the loss) travels in the
    /// same transfer and comes back as <paramref name="extraValue"/>.
    /// </summary>
    public unsafe bool AnyNonFinite(Tensor? extra, out double? extraValue)
    {
        _scalars.Clear();
        ScalarType? dtype = null;
        bool bad = false;
        for (int i = 0; i < _grads.Length; i++)
        {
            var g = _grads[i];
            var slot = _slots[i];
            if (g is null || slot.Count == 0) continue;
            if (!bad && slot.Fused is FusedReduction.ElementType type && TryBytes(slot, g, out var bytes))
            {
                fixed (byte* data = bytes)
                    if (!FusedReduction.AllFinite(data, slot.Count, type)) bad = true;
                continue;
            }
            if (bad) continue;
            // Σg of float16 gradients is taken in float32: a large finite sum must not read as an overflow.
            var sum = Precision.FloatFormat.IsLowPrecision(g.dtype) ? g.sum(ScalarType.Float32) : g.sum();
            dtype ??= sum.dtype;
            _scalars.Add(sum.dtype == dtype ? sum : sum.to_type(dtype.Value));
        }
        var values = Transfer(extra is null ? Array.Empty<Tensor>() : new[] { extra.detach().reshape(1) }, dtype, null);
        extraValue = extra is null ? null : values[^1];
        if (bad) return true;
        for (int i = 0; i < values.Length - (extra is null ? 0 : 1); i++) if (!double.IsFinite(values[i])) return true;
        return false;
    }

    private static bool TryBytes(Slot slot, Tensor g, out Span<byte> bytes)
    {
        try { bytes = g.bytes; }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            slot.Fused = null;
            bytes = default;
            return false;
        }
        return bytes.Length == slot.Count * slot.ElementSize;
    }

    /// <summary>The stacked scalars, then <paramref name="vectors"/>, then <paramref name="extras"/>, as doubles in one device-to-host transfer.</summary>
    private double[] Transfer(IReadOnlyList<Tensor> extras, ScalarType? dtype, List<Tensor>? vectors)
    {
        int vectorCount = vectors?.Count ?? 0;
        if (_scalars.Count == 0 && extras.Count == 0 && vectorCount == 0) return Array.Empty<double>();
        var parts = new List<Tensor>(extras.Count + vectorCount + 1);
        if (_scalars.Count > 0) parts.Add(torch.stack(_scalars));
        var target = dtype ?? (extras.Count > 0 ? extras[0].dtype : ScalarType.Float32);
        if (vectors != null) foreach (var v in vectors) parts.Add(v.to_type(target));
        foreach (var e in extras) parts.Add(e.dtype == target ? e : e.to_type(target));
        var all = parts.Count == 1 ? parts[0] : torch.cat(parts);
        return all.to_type(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    /// <summary>
    /// Parameters whose statistics came out non-finite: recomputed by libtorch (NaN max-abs when an element is NaN,
    /// the exact number of NaN/Inf elements, and Σg² in double so that huge finite values are not mistaken for Inf).
    /// </summary>
    private void RecomputeNonFinite(GradientStats[] stats, List<int> indices)
    {
        var parts = new Tensor[indices.Count];
        for (int k = 0; k < indices.Count; k++)
        {
            var flat = _grads[indices[k]]!.reshape(-1).to_type(ScalarType.Float64);
            var (min, max) = torch.aminmax(flat);
            parts[k] = torch.stack(new[]
            {
                flat.sum(), torch.matmul(flat, flat), min, max,
                flat.isfinite().logical_not().sum().to_type(ScalarType.Float64),
                (flat.numel() - flat.count_nonzero()).to_type(ScalarType.Float64),
            });
        }
        var values = torch.stack(parts).cpu().data<double>().ToArray();
        for (int k = 0; k < indices.Count; k++)
        {
            int i = indices[k];
            double sum = values[k * 6], sq = values[k * 6 + 1], min = values[k * 6 + 2], max = values[k * 6 + 3];
            double maxAbs = double.IsNaN(min) || double.IsNaN(max) ? double.NaN : Math.Max(Math.Abs(min), Math.Abs(max));
            long count = _slots[i].Count;
            stats[i] = new GradientStats(count, sum, sq, maxAbs, (long)values[k * 6 + 4], Math.Min((long)values[k * 6 + 5], count));
        }
    }

    /// <summary>Drops the gradient wrappers (they are disposed with the caller's scope).</summary>
    public void Clear() => Array.Clear(_grads);
}
