using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GradientHooks.Capture;

/// <summary>
/// One managed pass over a CPU gradient's memory computing Σg and Σg² (in double), min, max and the number of
/// exact zeros together, and optionally, per row (output unit) of a weight, whether the whole row is zero. SIMD
/// through <see cref="Vector{T}"/> (AVX2: 8 floats per instruction; Arm64: 4). float32 and float64 are read in
/// place; float16 and bfloat16 are widened to float32 in small stack buffers.
/// </summary>
/// <remarks>
/// Independent accumulators hide the latency of the additions; float32 partials are flushed into double totals every
/// 2,048 elements. NaN/Inf are not tested element by element: they make Σg or Σg² non-finite (so does a finite value
/// whose square overflows float32), and the caller then recomputes that parameter exactly in double on the rare step
/// where that happens.
/// </remarks>
internal static class FusedReduction
{
    /// <summary>Element types the fused pass reads.</summary>
    public enum ElementType : byte { Float32, Float64, Float16, BFloat16 }

    private const int ConvertChunk = 512;

    /// <summary>
    /// Reduces <paramref name="count"/> elements at <paramref name="data"/>. When <paramref name="rowZero"/> is not
    /// empty the elements are rows of <paramref name="rowLength"/> (count = rows × rowLength, rows = rowZero.Length)
    /// and rowZero[r] is set to 1 when every element of row r is ±0, else 0.
    /// </summary>
    public static unsafe ReductionPartial Reduce(void* data, long count, ElementType type, long rowLength, Span<byte> rowZero)
    {
        if (type == ElementType.Float32 && (rowZero.IsEmpty ? count <= int.MaxValue : rowLength <= int.MaxValue && count <= int.MaxValue))
            return Float32(new ReadOnlySpan<float>(data, (int)count), rowZero.IsEmpty ? (int)count : (int)rowLength, rowZero);
        var total = ReductionPartial.Empty;
        if (rowZero.IsEmpty)
        {
            for (long at = 0; at < count; at += int.MaxValue)   // a Span holds at most int.MaxValue elements
                total.Add(Run(data, at, (int)Math.Min(int.MaxValue, count - at), type, out _));
            return total;
        }
        for (int r = 0; r < rowZero.Length; r++)
        {
            var part = Run(data, r * rowLength, (int)rowLength, type, out bool anyNonZero);
            rowZero[r] = anyNonZero ? (byte)0 : (byte)1;
            total.Add(part);
        }
        return total;
    }

    /// <summary>True when every one of the <paramref name="count"/> elements is finite: Σ (g − g) stays 0 for finite g and turns NaN otherwise.</summary>
    public static unsafe bool AllFinite(void* data, long count, ElementType type)
    {
        for (long at = 0; at < count; at += int.MaxValue)
        {
            int n = (int)Math.Min(int.MaxValue, count - at);
            bool finite = type switch
            {
                ElementType.Float32 => FiniteFloat32(new ReadOnlySpan<float>((float*)data + at, n)),
                ElementType.Float64 => FiniteFloat64(new ReadOnlySpan<double>((double*)data + at, n)),
                _ => double.IsFinite(Run(data, at, n, type, out _).Sum),
            };
            if (!finite) return false;
        }
        return true;
    }

    private static unsafe ReductionPartial Run(void* data, long offset, int n, ElementType type, out bool anyNonZero)
    {
        switch (type)
        {
            case ElementType.Float32:
            {
                var p = Float32(new ReadOnlySpan<float>((float*)data + offset, n), n, Span<byte>.Empty);
                anyNonZero = p.Zeros < n;
                return p;
            }
            case ElementType.Float64: return Float64(new ReadOnlySpan<double>((double*)data + offset, n), out anyNonZero);
            default:
            {
                var total = ReductionPartial.Empty;
                Span<float> buffer = stackalloc float[ConvertChunk];
                var bits = new ReadOnlySpan<ushort>((ushort*)data + offset, n);
                for (int at = 0; at < n; at += ConvertChunk)
                {
                    var chunk = bits.Slice(at, Math.Min(ConvertChunk, n - at));
                    var floats = buffer[..chunk.Length];
                    if (type == ElementType.BFloat16) WidenBFloat16(chunk, floats);
                    else for (int i = 0; i < chunk.Length; i++) floats[i] = (float)BitConverter.UInt16BitsToHalf(chunk[i]);
                    total.Add(Float32(floats, floats.Length, Span<byte>.Empty));
                }
                anyNonZero = total.Zeros < n;
                return total;
            }
        }
    }

    /// <summary>bfloat16 is the upper half of a float32: widen by shifting the bits 16 places.</summary>
    private static void WidenBFloat16(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        var target = MemoryMarshal.Cast<float, uint>(destination);
        for (int i = 0; i < source.Length; i++) target[i] = (uint)source[i] << 16;
    }

    /// <summary>Vectors accumulated in float32 before the partial sums are added to the double totals (2,048 floats on AVX2).</summary>
    private const int FlushVectors = 256;

    /// <summary>
    /// The float32 kernel, over <paramref name="x"/> as rows of <paramref name="rowLength"/> (one row when
    /// <paramref name="rowZero"/> is empty). Four independent float32 accumulators for Σg and for Σg² (by FMA), two
    /// for max |g|, flushed into double totals every <see cref="FlushVectors"/> vectors, so each partial sums at most 64
    /// terms per lane (relative rounding error well below libtorch's own float32 reductions). Per row only the zero
    /// count is summed across lanes, for the row's flag.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ReductionPartial Float32(ReadOnlySpan<float> x, int rowLength, Span<byte> rowZero)
    {
        int rows = rowZero.IsEmpty ? 1 : rowZero.Length;
        int length = rowZero.IsEmpty ? x.Length : rowLength;
        var s0 = Vector<float>.Zero; var s1 = Vector<float>.Zero; var s2 = Vector<float>.Zero; var s3 = Vector<float>.Zero;
        var q0 = Vector<float>.Zero; var q1 = Vector<float>.Zero; var q2 = Vector<float>.Zero; var q3 = Vector<float>.Zero;
        var m0 = Vector<float>.Zero; var m1 = Vector<float>.Zero;
        double sum = 0, squares = 0, tailMax = 0;
        long zeros = 0;
        int pending = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * length, length);
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(row);
            var z = Vector<int>.Zero;
            int v = 0;
            for (; v + 4 <= vectors.Length; v += 4)
            {
                var a = vectors[v]; var b = vectors[v + 1]; var c = vectors[v + 2]; var d = vectors[v + 3];
                s0 += a; s1 += b; s2 += c; s3 += d;
                q0 = Vector.FusedMultiplyAdd(a, a, q0); q1 = Vector.FusedMultiplyAdd(b, b, q1);
                q2 = Vector.FusedMultiplyAdd(c, c, q2); q3 = Vector.FusedMultiplyAdd(d, d, q3);
                var aa = Vector.Abs(a); var ab = Vector.Abs(b); var ac = Vector.Abs(c); var ad = Vector.Abs(d);
                m0 = Vector.Max(m0, Vector.Max(aa, ab));
                m1 = Vector.Max(m1, Vector.Max(ac, ad));
                z += (Vector.Equals(a, Vector<float>.Zero) + Vector.Equals(b, Vector<float>.Zero)) + (Vector.Equals(c, Vector<float>.Zero) + Vector.Equals(d, Vector<float>.Zero));
                if ((pending += 4) >= FlushVectors)
                {
                    sum += Vector.Sum((s0 + s1) + (s2 + s3));
                    squares += Vector.Sum((q0 + q1) + (q2 + q3));
                    s0 = s1 = s2 = s3 = q0 = q1 = q2 = q3 = Vector<float>.Zero;
                    pending = 0;
                }
            }
            for (; v < vectors.Length; v++)
            {
                var a = vectors[v];
                s0 += a;
                q0 = Vector.FusedMultiplyAdd(a, a, q0);
                m0 = Vector.Max(m0, Vector.Abs(a));
                z += Vector.Equals(a, Vector<float>.Zero);
                pending++;
            }
            long rowZeros = -(long)Vector.Sum(z);
            for (int i = vectors.Length * Vector<float>.Count; i < row.Length; i++)
            {
                double g = row[i];
                sum += g;
                squares += g * g;
                double abs = Math.Abs(g);
                if (abs > tailMax || double.IsNaN(abs)) tailMax = abs;
                if (g == 0) rowZeros++;
            }
            zeros += rowZeros;
            if (!rowZero.IsEmpty) rowZero[r] = rowZeros == length ? (byte)1 : (byte)0;
        }
        sum += Vector.Sum((s0 + s1) + (s2 + s3));
        squares += Vector.Sum((q0 + q1) + (q2 + q3));
        var max = Vector.Max(m0, m1);
        double maxAbs = tailMax;
        for (int i = 0; i < Vector<float>.Count; i++) if (max[i] > maxAbs) maxAbs = max[i];
        return new ReductionPartial { Sum = sum, SumOfSquares = squares, Min = -maxAbs, Max = maxAbs, Zeros = zeros };
    }

    /// <summary>The float64 kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ReductionPartial Float64(ReadOnlySpan<double> x, out bool anyNonZero)
    {
        var vectors = MemoryMarshal.Cast<double, Vector<double>>(x);
        var s0 = Vector<double>.Zero; var s1 = Vector<double>.Zero;
        var q0 = Vector<double>.Zero; var q1 = Vector<double>.Zero;
        var min = new Vector<double>(double.PositiveInfinity);
        var max = new Vector<double>(double.NegativeInfinity);
        var zeros = Vector<long>.Zero;
        int v = 0;
        for (; v + 1 < vectors.Length; v += 2)
        {
            var a = vectors[v];
            var b = vectors[v + 1];
            s0 += a; s1 += b;
            q0 += a * a; q1 += b * b;
            min = Vector.Min(min, Vector.Min(a, b));
            max = Vector.Max(max, Vector.Max(a, b));
            zeros += Vector.Equals(a, Vector<double>.Zero) + Vector.Equals(b, Vector<double>.Zero);
        }
        if (v < vectors.Length)
        {
            var a = vectors[v];
            s0 += a; q0 += a * a;
            min = Vector.Min(min, a);
            max = Vector.Max(max, a);
            zeros += Vector.Equals(a, Vector<double>.Zero);
        }
        var result = new ReductionPartial
        {
            Sum = Vector.Sum(s0 + s1),
            SumOfSquares = Vector.Sum(q0 + q1),
            Min = double.PositiveInfinity,
            Max = double.NegativeInfinity,
            Zeros = -Vector.Sum(zeros),
        };
        if (vectors.Length > 0)
            for (int i = 0; i < Vector<double>.Count; i++)
            {
                if (min[i] < result.Min) result.Min = min[i];
                if (max[i] > result.Max) result.Max = max[i];
            }
        for (int i = vectors.Length * Vector<double>.Count; i < x.Length; i++) AddScalar(ref result, x[i]);
        anyNonZero = result.Zeros < x.Length;
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScalar(ref ReductionPartial p, double g)
    {
        p.Sum += g;
        p.SumOfSquares += g * g;
        if (g < p.Min) p.Min = g;
        if (g > p.Max) p.Max = g;
        if (g == 0) p.Zeros++;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool FiniteFloat32(ReadOnlySpan<float> x)
    {
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(x);
        var a0 = Vector<float>.Zero; var a1 = Vector<float>.Zero; var a2 = Vector<float>.Zero; var a3 = Vector<float>.Zero;
        int v = 0;
        for (; v + 4 <= vectors.Length; v += 4)
        {
            a0 += vectors[v] - vectors[v];
            a1 += vectors[v + 1] - vectors[v + 1];
            a2 += vectors[v + 2] - vectors[v + 2];
            a3 += vectors[v + 3] - vectors[v + 3];
        }
        for (; v < vectors.Length; v++) a0 += vectors[v] - vectors[v];
        float acc = Vector.Sum((a0 + a1) + (a2 + a3));
        for (int i = vectors.Length * Vector<float>.Count; i < x.Length; i++) acc += x[i] - x[i];
        return acc == 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool FiniteFloat64(ReadOnlySpan<double> x)
    {
        var vectors = MemoryMarshal.Cast<double, Vector<double>>(x);
        var a = Vector<double>.Zero;
        foreach (var vec in vectors) a += vec - vec;
        double acc = Vector.Sum(a);
        for (int i = vectors.Length * Vector<double>.Count; i < x.Length; i++) acc += x[i] - x[i];
        return acc == 0;
    }
}
