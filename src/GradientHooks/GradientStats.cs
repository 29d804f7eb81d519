namespace GradientHooks;

/// <summary>
/// Sufficient statistics of one gradient tensor (or of several merged): element count, sum, sum of squares,
/// largest absolute value, number of non-finite elements and number of elements that are exactly zero. Because every field combines by addition or by
/// maximum, statistics of micro-batches (gradient accumulation) or of workers merge exactly with
/// <see cref="Merge(GradientStats, GradientStats)"/>, which is associative and commutative.
/// </summary>
/// <remarks>
/// When the gradient holds NaN or Inf, <see cref="Sum"/>, <see cref="SumOfSquares"/> and <see cref="MaxAbs"/> are
/// non-finite too (IEEE propagation) and <see cref="NonFiniteCount"/> is the exact number of NaN/Inf elements.
/// </remarks>
public readonly record struct GradientStats
{
    /// <summary>Creates statistics from their sufficient parts.</summary>
    /// <param name="count">Number of elements, n &gt;= 0.</param>
    /// <param name="sum">Σ g_i.</param>
    /// <param name="sumOfSquares">Σ g_i², &gt;= 0 (or NaN).</param>
    /// <param name="maxAbs">max |g_i| (0 for an empty tensor).</param>
    /// <param name="nonFiniteCount">Number of NaN or ±Inf elements.</param>
    public GradientStats(long count, double sum, double sumOfSquares, double maxAbs, long nonFiniteCount)
        : this(count, sum, sumOfSquares, maxAbs, nonFiniteCount, 0)
    {
    }

    /// <summary>Creates statistics from their sufficient parts, with the number of exact zeros.</summary>
    /// <param name="count">Number of elements, n &gt;= 0.</param>
    /// <param name="sum">Σ g_i.</param>
    /// <param name="sumOfSquares">Σ g_i², &gt;= 0 (or NaN).</param>
    /// <param name="maxAbs">max |g_i| (0 for an empty tensor).</param>
    /// <param name="nonFiniteCount">Number of NaN or ±Inf elements.</param>
    /// <param name="zeroCount">Number of elements equal to ±0, between 0 and <paramref name="count"/>.</param>
    public GradientStats(long count, double sum, double sumOfSquares, double maxAbs, long nonFiniteCount, long zeroCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(nonFiniteCount);
        ArgumentOutOfRangeException.ThrowIfNegative(zeroCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(zeroCount, count);
        Count = count;
        Sum = sum;
        SumOfSquares = sumOfSquares;
        MaxAbs = maxAbs;
        NonFiniteCount = nonFiniteCount;
        ZeroCount = zeroCount;
    }

    /// <summary>The statistics of no elements: the identity of <see cref="Merge(GradientStats, GradientStats)"/>.</summary>
    public static GradientStats Empty => default;

    /// <summary>Number of elements n.</summary>
    public long Count { get; }

    /// <summary>Σ g_i.</summary>
    public double Sum { get; }

    /// <summary>Σ g_i².</summary>
    public double SumOfSquares { get; }

    /// <summary>max |g_i|; NaN when an element is NaN.</summary>
    public double MaxAbs { get; }

    /// <summary>Number of NaN or ±Inf elements.</summary>
    public long NonFiniteCount { get; }

    /// <summary>
    /// Number of elements exactly equal to zero. Zeros are where no signal reached the parameter: the weights of a
    /// unit that passed no gradient (a dead ReLU), the columns of inputs absent from the batch (sparse or one-hot
    /// features), the rows of tokens that did not occur (embeddings).
    /// </summary>
    public long ZeroCount { get; }

    /// <summary>L2 norm ‖g‖₂ = sqrt(Σ g_i²).</summary>
    public double Norm => Math.Sqrt(SumOfSquares);

    /// <summary>Mean Σ g_i / n; 0 when n = 0.</summary>
    public double Mean => Count == 0 ? 0 : Sum / Count;

    /// <summary>Root mean square sqrt(Σ g_i² / n), the norm scaled for size; 0 when n = 0.</summary>
    public double Rms => Count == 0 ? 0 : Math.Sqrt(SumOfSquares / Count);

    /// <summary>
    /// Root mean square over the elements that are not exactly zero, sqrt(Σ g_i² / (n − zeros)); 0 when every
    /// element is zero. The magnitude of the gradient where it flows, unaffected by how many weights received
    /// none (dead units, absent sparse features): the quantity to compare across layers for vanishing gradients.
    /// </summary>
    public double NonZeroRms => Count - ZeroCount <= 0 ? 0 : Math.Sqrt(SumOfSquares / (Count - ZeroCount));

    /// <summary>True when <see cref="NonFiniteCount"/> is positive.</summary>
    public bool HasNonFinite => NonFiniteCount > 0;

    /// <summary>
    /// Statistics of the union of two element sets: counts, sums, sums of squares, non-finite and zero counts add;
    /// max-abs is the larger (NaN wins).
    /// </summary>
    public static GradientStats Merge(GradientStats a, GradientStats b) => new(
        a.Count + b.Count,
        a.Sum + b.Sum,
        a.SumOfSquares + b.SumOfSquares,
        double.IsNaN(a.MaxAbs) || double.IsNaN(b.MaxAbs) ? double.NaN : Math.Max(a.MaxAbs, b.MaxAbs),
        a.NonFiniteCount + b.NonFiniteCount,
        a.ZeroCount + b.ZeroCount);

    /// <summary>Merges any number of statistics; <see cref="Empty"/> for none.</summary>
    public static GradientStats Merge(IEnumerable<GradientStats> stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var total = Empty;
        foreach (var s in stats) total = Merge(total, s);
        return total;
    }
}
