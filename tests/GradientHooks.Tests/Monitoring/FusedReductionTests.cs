using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using GradientHooks.Capture;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Monitoring;

/// <summary>
/// The fused managed pass against libtorch: every statistic is recomputed by libtorch in float64 on the same
/// gradient (sum, Σg², max |g|, the exact zero count, the per-row "all zero" flags), and the libtorch path of the
/// monitor itself (<see cref="MonitorOptions.FusedReduction"/> = false) must agree too.
/// </summary>
public class FusedReductionTests
{
    private static Parameter WithGrad(Tensor grad)
    {
        var p = new Parameter(torch.zeros_like(grad));
        p.grad = grad;
        return p;
    }

    /// <summary>libtorch's own float64 statistics of <paramref name="g"/>: (sum, Σg², max|g|, zeros).</summary>
    private static (double Sum, double Squares, double MaxAbs, long Zeros) Reference(Tensor g)
    {
        using var scope = torch.NewDisposeScope();
        var d = g.to_type(ScalarType.Float64).reshape(-1);
        if (d.numel() == 0) return (0, 0, 0, 0);
        return (d.sum().item<double>(), (d * d).sum().item<double>(), d.abs().max().item<double>(), d.numel() - d.count_nonzero().item<long>());
    }

    private static GradientStats Reduce(Tensor grad, bool fused, int threads = 2)
    {
        using var scope = torch.NewDisposeScope();
        var reducer = new GradientReducer(new[] { WithGrad(grad) }, Array.Empty<UnitLayer>(), threads, fused);
        reducer.ReadGradients();
        var (stats, _) = reducer.Reduce(Array.Empty<Tensor>());
        reducer.Clear();
        return stats[0];
    }

    public static TheoryData<string, int> Shapes()
    {
        var data = new TheoryData<string, int>();
        foreach (var dtype in new[] { "float32", "float64", "float16", "bfloat16" })
            foreach (var n in new[] { 1, 7, 8, 9, 33, 1000, (int)GradientReducer.ChunkElements + 3 })
                data.Add(dtype, n);
        return data;
    }

    private static ScalarType Parse(string dtype) => dtype switch
    {
        "float64" => ScalarType.Float64, "float16" => ScalarType.Float16, "bfloat16" => ScalarType.BFloat16, _ => ScalarType.Float32,
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Fused_and_libtorch_paths_agree_with_libtorch_in_double(string dtype, int n)
    {
        torch.manual_seed(n);
        var g = (torch.randn(n) * 0.01).to_type(Parse(dtype));
        using (torch.no_grad()) g[torch.randperm(n)[..(n / 4)]] = torch.tensor(0f).to_type(g.dtype);   // a quarter exact zeros
        var r = Reference(g);
        foreach (var fused in new[] { true, false })
        {
            // Fused: float32 lanes with 64 terms each before the double flush (a few 1e-7 relative), float64 read as is.
            // libtorch: float16 and bfloat16 gradients are reduced in float32 (float32's rounding over n terms, a few 1e-6 at 131,075).
            double tol = dtype switch { "float64" => 1e-12, "float16" or "bfloat16" when !fused => 1e-5, _ => 1e-6 };
            var s = Reduce(g, fused);
            Assert.Equal(n, s.Count);
            Assert.True(Math.Abs(s.Sum - r.Sum) <= tol * Math.Sqrt(r.Squares * n) + 1e-30, $"{(fused ? "fused" : "libtorch")} Σg {s.Sum} vs {r.Sum}");
            Assert.True(Math.Abs(s.SumOfSquares - r.Squares) <= tol * r.Squares, $"{(fused ? "fused" : "libtorch")} Σg² {s.SumOfSquares} vs {r.Squares}");
            Assert.Equal(r.MaxAbs, s.MaxAbs, 12);
            Assert.Equal(r.Zeros, s.ZeroCount);
            Assert.Equal(0, s.NonFiniteCount);
        }
    }

    [Fact]
    public void A_gradient_above_the_parallel_threshold_is_split_across_threads_with_the_same_result()
    {
        torch.manual_seed(3);
        var g = torch.randn(GradientReducer.ParallelElements + 1001);
        var r = Reference(g);
        var parallel = Reduce(g, fused: true, threads: 2);
        var serial = Reduce(g, fused: true, threads: 1);
        Assert.Equal(serial.SumOfSquares, parallel.SumOfSquares, 6);
        Assert.True(Math.Abs(parallel.SumOfSquares - r.Squares) <= 1e-6 * r.Squares);
        Assert.True(Math.Abs(parallel.Sum - r.Sum) <= 1e-6 * Math.Sqrt(r.Squares * g.numel()));
        Assert.Equal(r.MaxAbs, parallel.MaxAbs, 12);
    }

    [Theory]
    [InlineData(float.NaN, 1)]
    [InlineData(float.PositiveInfinity, 2)]
    [InlineData(float.NegativeInfinity, 3)]
    public void Non_finite_elements_are_counted_exactly_with_libtorch_semantics(float bad, int count)
    {
        var values = Enumerable.Range(0, 101).Select(i => (float)(i - 50) / 7).ToArray();
        for (int k = 0; k < count; k++) values[10 + 17 * k] = bad;
        var g = torch.tensor(values);
        foreach (var fused in new[] { true, false })
        {
            var s = Reduce(g, fused);
            Assert.Equal(count, s.NonFiniteCount);
            Assert.Equal(float.IsNaN(bad), double.IsNaN(s.MaxAbs));
            if (float.IsInfinity(bad)) Assert.Equal(double.PositiveInfinity, s.MaxAbs);
        }
    }

    [Fact]
    public void Huge_finite_values_are_not_taken_for_infinity_and_denormals_are_not_zeros()
    {
        // 1e30² overflows float32 (max 3.4e38) but not the double total; 1e-40 is a float32 denormal, not a zero.
        var g = torch.tensor(new[] { 1e30f, -1e30f, 1e-40f, -0f, 0f, 2f });
        foreach (var fused in new[] { true, false })
        {
            var s = Reduce(g, fused);
            Assert.Equal(0, s.NonFiniteCount);
            double big = 1e30f;   // the float32 value, squared in double
            Assert.Equal(2 * big * big + 4, s.SumOfSquares, 1e-9 * big * big);
            Assert.Equal(big, s.MaxAbs);
            Assert.Equal(2, s.ZeroCount);
        }
    }

    [Fact]
    public void An_empty_gradient_has_empty_statistics()
    {
        var s = Reduce(torch.empty(0), fused: true);
        Assert.Equal(GradientStats.Empty, s);
    }

    [Fact]
    public void Row_flags_mark_exactly_the_units_whose_weight_row_and_bias_are_zero()
    {
        using var scope = torch.NewDisposeScope();
        var model = torch.nn.Sequential(("fc", torch.nn.Linear(13, 6)));
        var weight = model.named_parameters().First(p => p.name == "fc.weight").parameter;
        var bias = model.named_parameters().First(p => p.name == "fc.bias").parameter;
        var w = torch.randn(6, 13);
        var b = torch.randn(6);
        using (torch.no_grad())
        {
            w[0] = torch.zeros(13); b[0] = 0;                       // unit 0: no gradient
            w[1] = torch.zeros(13);                                 // unit 1: bias still has one: alive
            w[2] = torch.full(13, -0f); b[2] = -0f;                // unit 2: negative zeros count as zero
            w[3] = torch.zeros(13); w[3, 12] = 1e-40f; b[3] = 0;   // unit 3: one denormal: alive
        }
        weight.grad = w;
        bias.grad = b;
        var names = new[] { "fc.weight", "fc.bias" };
        var units = UnitLayer.Find(model, names, new[] { weight.shape, bias.shape });
        foreach (var fused in new[] { true, false })
        {
            var fresh = UnitLayer.Find(model, names, new[] { weight.shape, bias.shape });
            var reducer = new GradientReducer(new[] { weight, bias }, fresh, 2, fused);
            reducer.ReadGradients();
            reducer.Reduce(Array.Empty<Tensor>());
            var stats = Assert.Single(reducer.Units(finite: true, horizon: 20));
            Assert.Equal(("fc", "Linear", 6, 2), (stats.Layer, stats.Module, stats.Units, stats.ZeroUnits));
            Assert.Equal(2, stats.DeadUnits);   // one step observed: dead = zero on every step so far
            reducer.Clear();
        }
        Assert.Single(units);
    }

    [Fact]
    public void The_every_step_check_finds_NaN_and_Inf_in_place_and_lets_finite_gradients_pass()
    {
        foreach (var fused in new[] { true, false })
        {
            var p = WithGrad(torch.randn(1000));
            var reducer = new GradientReducer(new[] { p }, Array.Empty<UnitLayer>(), 2, fused);
            using (torch.NewDisposeScope()) { reducer.ReadGradients(); Assert.False(reducer.AnyNonFinite()); reducer.Clear(); }
            using (torch.no_grad()) p.grad![997] = float.PositiveInfinity;
            using (torch.NewDisposeScope()) { reducer.ReadGradients(); Assert.True(reducer.AnyNonFinite()); reducer.Clear(); }
            using (torch.no_grad()) p.grad![997] = float.NaN;
            using (torch.NewDisposeScope()) { reducer.ReadGradients(); Assert.True(reducer.AnyNonFinite()); reducer.Clear(); }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Float16_gradients_whose_sums_exceed_float16s_range_are_not_taken_for_an_overflow(bool fused)
    {
        // 4096 elements of 60000: finite in float16 (largest 65504), but Σg = 2.5e8 and Σg² = 1.5e13 are not.
        var g = torch.full(4096, 60000f).to_type(ScalarType.Float16);
        var s = Reduce(g, fused);
        Assert.Equal(0, s.NonFiniteCount);
        Assert.Equal(1.0, s.Sum / (4096 * 60000.0), 5);
        Assert.Equal(1.0, s.SumOfSquares / (4096 * 60000.0 * 60000.0), 5);
        var reducer = new GradientReducer(new[] { WithGrad(g) }, Array.Empty<UnitLayer>(), 2, fused);
        using (torch.NewDisposeScope()) { reducer.ReadGradients(); Assert.False(reducer.AnyNonFinite()); reducer.Clear(); }
    }

    [Fact]
    public void A_non_contiguous_gradient_falls_back_to_libtorch_with_the_same_numbers()
    {
        torch.manual_seed(9);
        var source = torch.randn(40, 30);
        var transposed = source.t();   // a [30, 40] view that is not contiguous
        Assert.False(transposed.is_contiguous());
        var r = Reference(transposed);
        var s = Reduce(transposed, fused: true);
        Assert.True(Math.Abs(s.SumOfSquares - r.Squares) <= 1e-6 * r.Squares);
        Assert.Equal(r.MaxAbs, s.MaxAbs, 12);
    }

    // Values a gradient really holds: scaled normals, exact zeros and an occasional large element.
    private static Arbitrary<float[]> Gradients() =>
        ArbMap.Default.GeneratorFor<(int, int, bool)[]>().Select(a => a.Select(t => t.Item3 ? 0f : (float)(t.Item1 % 10_000) / (1 + Math.Abs(t.Item2 % 997)) * 1e-3f).ToArray()).ToArbitrary();

    [Property(MaxTest = 200)]
    public Property The_float32_kernel_equals_an_element_by_element_sum_in_double() => Prop.ForAll(Gradients(), Gradients(), (values, more) =>
    {
        var x = values.Concat(more).ToArray();
        int rowLength = Math.Max(1, values.Length);
        int rows = x.Length / rowLength;
        var flags = new byte[rows];
        var p = FusedReduction.Float32(x.AsSpan(0, rows * rowLength), rowLength, flags);
        var used = x.Take(rows * rowLength).Select(v => (double)v).ToArray();
        double squares = used.Sum(v => v * v);
        bool ok = Math.Abs(p.Sum - used.Sum()) <= 1e-6 * Math.Sqrt(squares * Math.Max(1, used.Length)) + 1e-12
            && Math.Abs(p.SumOfSquares - squares) <= 1e-6 * squares + 1e-12
            && p.MaxAbs == (used.Length == 0 ? 0 : used.Max(Math.Abs))
            && p.Zeros == used.Count(v => v == 0);
        for (int r = 0; r < rows; r++) ok &= flags[r] == (used.Skip(r * rowLength).Take(rowLength).All(v => v == 0) ? 1 : 0);
        return ok;
    });
}
