using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace GradientHooks.Tests.Monitoring;

public class GradientStatsTests
{
    private static GradientStats Of(IReadOnlyList<double> values) => new(
        values.Count, values.Sum(), values.Sum(v => v * v), values.Count == 0 ? 0 : values.Max(Math.Abs),
        values.Count(v => !double.IsFinite(v)), values.Count(v => v == 0));

    // Integer-valued samples keep every sum exact in double, so the laws hold with equality.
    private static Arbitrary<double[]> Samples() =>
        ArbMap.Default.GeneratorFor<int[]>().Select(a => a.Select(v => (double)(v % 1000)).ToArray()).ToArbitrary();

    [Property]
    public Property Merge_is_associative() => Prop.ForAll(Samples(), Samples(), Samples(), (a, b, c) =>
    {
        var (x, y, z) = (Of(a), Of(b), Of(c));
        return GradientStats.Merge(GradientStats.Merge(x, y), z) == GradientStats.Merge(x, GradientStats.Merge(y, z));
    });

    [Property]
    public Property Merge_is_commutative_with_empty_as_identity() => Prop.ForAll(Samples(), Samples(), (a, b) =>
        GradientStats.Merge(Of(a), Of(b)) == GradientStats.Merge(Of(b), Of(a))
        && GradientStats.Merge(Of(a), GradientStats.Empty) == Of(a));

    [Property]
    public Property Merging_the_parts_equals_the_statistics_of_the_whole() => Prop.ForAll(Samples(), Samples(), (a, b) =>
        GradientStats.Merge(Of(a), Of(b)) == Of(a.Concat(b).ToArray()));

    [Fact]
    public void Derived_values_follow_their_formulas()
    {
        var s = Of(new double[] { 3, -4 });
        Assert.Equal(5, s.Norm, 12);
        Assert.Equal(-0.5, s.Mean, 12);
        Assert.Equal(Math.Sqrt(12.5), s.Rms, 12);
        Assert.Equal(4, s.MaxAbs);
        Assert.Equal(0, GradientStats.Empty.Mean);
        Assert.Equal(0, GradientStats.Empty.Rms);
    }

    [Fact]
    public void Non_zero_rms_leaves_the_exact_zeros_out()
    {
        var s = Of(new double[] { 3, 0, -4, 0 });
        Assert.Equal(2, s.ZeroCount);
        Assert.Equal(Math.Sqrt(25.0 / 2), s.NonZeroRms, 12);
        Assert.Equal(Math.Sqrt(25.0 / 4), s.Rms, 12);
        Assert.Equal(0, Of(new double[] { 0, 0 }).NonZeroRms);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GradientStats(2, 0, 0, 0, 0, 3));
    }

    [Fact]
    public void NaN_max_abs_wins_a_merge_and_counts_add()
    {
        var nan = new GradientStats(2, double.NaN, double.NaN, double.NaN, 1);
        var merged = GradientStats.Merge(Of(new double[] { 100 }), nan);
        Assert.True(double.IsNaN(merged.MaxAbs));
        Assert.Equal(1, merged.NonFiniteCount);
        Assert.Equal(3, merged.Count);
    }

    [Fact]
    public void Negative_counts_are_rejected_with_the_argument_named()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new GradientStats(-1, 0, 0, 0, 0));
        Assert.Equal("count", e.ParamName);
    }
}
