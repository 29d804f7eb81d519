namespace GradientHooks.Capture;

/// <summary>
/// Partial statistics of a run of gradient elements, accumulated in double: Σg, Σg², min, max and the number of
/// exact zeros. Partials of disjoint runs merge by <see cref="Add"/>. A NaN or ±Inf element makes
/// <see cref="Sum"/> or <see cref="SumOfSquares"/> non-finite (finite float32 values cannot overflow a double sum
/// or sum of squares), which is how the caller detects non-finite gradients without a separate test.
/// </summary>
internal struct ReductionPartial
{
    public double Sum;
    public double SumOfSquares;
    public double Min;
    public double Max;
    public long Zeros;

    /// <summary>The partial of no elements.</summary>
    public static ReductionPartial Empty => new() { Min = double.PositiveInfinity, Max = double.NegativeInfinity };

    /// <summary>True when every element was finite (a non-finite element leaves Σg or Σg² non-finite).</summary>
    public readonly bool IsFinite => double.IsFinite(Sum) && double.IsFinite(SumOfSquares);

    /// <summary>Merges the partial of a disjoint run into this one.</summary>
    public void Add(in ReductionPartial other)
    {
        Sum += other.Sum;
        SumOfSquares += other.SumOfSquares;
        if (other.Min < Min) Min = other.Min;
        if (other.Max > Max) Max = other.Max;
        Zeros += other.Zeros;
    }

    /// <summary>max(|min|, |max|), 0 for no elements.</summary>
    public readonly double MaxAbs => Min > Max ? 0 : Math.Max(Math.Abs(Min), Math.Abs(Max));
}
