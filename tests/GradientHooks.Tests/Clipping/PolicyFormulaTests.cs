using GradientHooks.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Clipping;

public class PolicyFormulaTests
{
    /// <summary>A parameter with the given weight and gradient values.</summary>
    private static Parameter Param(float[,] weight, float[,] grad)
    {
        var p = new Parameter(torch.tensor(weight));
        p.grad = torch.tensor(grad);
        return p;
    }

    private static Parameter Param1D(float[] weight, float[] grad)
    {
        var p = new Parameter(torch.tensor(weight));
        p.grad = torch.tensor(grad);
        return p;
    }

    [Fact]
    public void Unitwise_clips_only_units_whose_gradient_exceeds_lambda_times_the_weight()
    {
        // Row 0: ‖W‖ = 5, ‖G‖ = 50 -> ratio 10 > λ = 1: scaled to 5 (factor 0.1).
        // Row 1: ‖W‖ = 1, ‖G‖ = 0.5 -> ratio 0.5: untouched.
        // Row 2: ‖W‖ = 0 -> floor eps = 0.1, ‖G‖ = 1 -> max 0.1: factor 0.1.
        var p = Param(new float[,] { { 3, 4 }, { 0, 1 }, { 0, 0 } }, new float[,] { { 30, 40 }, { 0, 0.5f }, { 0.6f, 0.8f } });
        var result = Clip.Unitwise(lambda: 1.0, eps: 0.1).Apply(new[] { p });
        var g = TestModels.GradValues(p);
        double[] expected = { 3, 4, 0, 0.5, 0.06, 0.08 };
        for (int i = 0; i < g.Length; i++) Assert.Equal(expected[i], g[i], 5);
        Assert.True(result.Clipped);
        Assert.Equal(Math.Sqrt(50 * 50 + 0.25 + 1), result.NormBefore, 4);
        Assert.Equal(Math.Sqrt(25 + 0.25 + 0.01), result.NormAfter, 4);
        Assert.Contains("2 unit(s)", result.Reason);
    }

    [Fact]
    public void Unitwise_treats_a_bias_vector_as_one_unit()
    {
        var bias = Param1D(new float[] { 3, 4 }, new float[] { 6, 8 }); // ‖W‖ = 5, ‖G‖ = 10, λ = 0.5 -> max 2.5
        Clip.Unitwise(lambda: 0.5).Apply(new[] { bias });
        var g = TestModels.GradValues(bias);
        Assert.Equal(1.5, g[0], 5);
        Assert.Equal(2.0, g[1], 5);
    }

    [Fact]
    public void Adaptive_clips_to_the_numpy_linear_percentile_of_the_norm_history()
    {
        var policy = (AdaptiveClipping)Clip.Adaptive(percentile: 50, window: 4);
        // Norms 1, 2, 3, 4: step 4's history {1,2,3,4}, median by linear interpolation = 2.5.
        ClipResult last = null!;
        foreach (var n in new float[] { 1, 2, 3, 4 })
            last = policy.Apply(new[] { Param1D(new float[] { 1 }, new float[] { n }) });
        Assert.Equal(2.5, policy.LastThreshold, 9);
        Assert.True(last.Clipped);
        Assert.Equal(2.5, last.NormAfter, 4);
        Assert.Equal(2.5, last.Threshold!.Value, 9);
        // Window 4: after a fifth norm of 10, history {2,3,4,10}: 50th percentile 3.5.
        policy.Apply(new[] { Param1D(new float[] { 1 }, new float[] { 10 }) });
        Assert.Equal(3.5, policy.LastThreshold, 9);
    }

    [Fact]
    public void ZScore_warms_up_then_clips_an_outlier_to_the_adaptive_threshold()
    {
        var policy = (ZScoreClipping)Clip.ZScore(z: 2.5, alpha: 0.9, warmupSteps: 4);
        foreach (var n in new float[] { 1, 2, 1, 2 })
            Assert.False(policy.Apply(new[] { Param1D(new float[] { 1 }, new float[] { n }) }).Clipped);
        Assert.Equal(1.5, policy.Mean, 9);
        Assert.Equal(0.5, policy.StandardDeviation, 9);

        var p = Param1D(new float[] { 1 }, new float[] { 11.5f });   // z = (11.5 - 1.5) / 0.5 = 20
        var r = policy.Apply(new[] { p });
        double z = (11.5 - 1.5) / (0.5 + 1e-6);
        double threshold = 1.5 + 2.5 * 0.5 / (z / 2.5);             // μ + z_t·σ / (z / z_t)
        Assert.True(r.Clipped);
        Assert.Equal(threshold, r.NormAfter, 5);
        Assert.Equal(threshold, r.Threshold!.Value, 5);
        Assert.Equal(threshold, TestModels.GradValues(p)[0], 5);
        Assert.Equal(0.9 * 1.5 + 0.1 * r.NormAfter, policy.Mean, 6);
    }

    [Fact]
    public void The_threshold_on_the_total_norm_is_reported_whether_or_not_the_policy_clipped_and_through_a_chain()
    {
        var below = Clip.GlobalNorm(5).Apply(new[] { Param1D(new float[] { 1, 1 }, new float[] { 3, 0 }) });   // norm 3 ≤ 5
        Assert.False(below.Clipped);
        Assert.Equal(5, below.Threshold);
        var chained = Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(2)).Apply(new[] { Param1D(new float[] { 1, 1 }, new float[] { 3, 4 }) });
        Assert.True(chained.Clipped);
        Assert.Equal(2, chained.Threshold);
        Assert.Equal(2, chained.NormAfter, 4);
        Assert.Null(Clip.Value(0.1).Apply(new[] { Param1D(new float[] { 1 }, new float[] { 3 }) }).Threshold);   // no threshold on the total norm
    }

    [Fact]
    public void PerParameterNorm_scales_each_offender_to_the_limit()
    {
        var a = Param1D(new float[] { 1, 1 }, new float[] { 3, 4 });   // norm 5 -> 1
        var b = Param1D(new float[] { 1, 1 }, new float[] { 0.3f, 0.4f }); // norm 0.5 stays
        var r = Clip.PerParameterNorm(1).Apply(new[] { a, b });
        Assert.Equal(1.0, TestModels.L2(TestModels.GradValues(a)), 5);
        Assert.Equal(0.5, TestModels.L2(TestModels.GradValues(b)), 6);
        Assert.Equal(Math.Sqrt(1 + 0.25), r.NormAfter, 5);
    }

    [Fact]
    public void SkipNonFinite_zeroes_gradients_and_names_the_parameter()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        TestModels.Backward(model, x, y);
        using (torch.no_grad()) model.named_parameters().First(n => n.name == "fc3.bias").parameter.grad![1] = float.NaN;
        var r = Clip.SkipNonFinite().Apply(model.parameters().ToArray(), monitor.Capture());
        Assert.True(r.SkipStep);
        Assert.Contains("fc3.bias (1 non-finite)", r.Reason);
        Assert.All(model.parameters(), p => Assert.All(TestModels.GradValues(p), v => Assert.Equal(0, v)));

        // Without a record it measures for itself.
        TestModels.Backward(model, x, y);
        using (torch.no_grad()) model.parameters().First().grad![0, 0] = float.PositiveInfinity;
        Assert.True(Clip.SkipNonFinite().Apply(model.parameters().ToArray()).SkipStep);
    }

    [Fact]
    public void GlobalNorm_leaves_non_finite_gradients_alone_instead_of_spreading_NaN()
    {
        var a = Param1D(new float[] { 1, 1 }, new float[] { float.NaN, 1 });
        var b = Param1D(new float[] { 1, 1 }, new float[] { 3, 4 });
        var r = Clip.GlobalNorm(1).Apply(new[] { a, b });
        Assert.False(r.Clipped);
        Assert.Contains("SkipNonFinite", r.Reason);
        Assert.Equal(new double[] { 3, 4 }, TestModels.GradValues(b));
    }

    [Fact]
    public void Chain_stops_at_a_skip_and_reports_first_norm_before_and_last_norm_after()
    {
        var a = Param1D(new float[] { 1, 1 }, new float[] { 30, 40 });
        var r = Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(10), Clip.PerParameterNorm(5)).Apply(new[] { a });
        Assert.Equal(50, r.NormBefore, 4);
        Assert.Equal(5, r.NormAfter, 4);
        Assert.True(r.Clipped);
        Assert.False(r.SkipStep);
        Assert.Equal(5, TestModels.L2(TestModels.GradValues(a)), 4);
    }

    public static TheoryData<Func<object>, string> BadOptions => new()
    {
        { () => Clip.Value(0), "limit" },
        { () => Clip.Value(double.NaN), "limit" },
        { () => Clip.GlobalNorm(-1), "maxNorm" },
        { () => Clip.GlobalNorm(1, 0), "normType" },
        { () => Clip.GlobalNorm(1, double.NaN), "normType" },
        { () => Clip.PerParameterNorm(double.PositiveInfinity), "maxNorm" },
        { () => Clip.Adaptive(0), "percentile" },
        { () => Clip.Adaptive(100.5), "percentile" },
        { () => Clip.Adaptive(10, 0), "window" },
        { () => Clip.Unitwise(0), "lambda" },
        { () => Clip.Unitwise(0.01, -1), "eps" },
        { () => Clip.ZScore(double.NaN), "z" },
        { () => Clip.ZScore(2.5, 1), "alpha" },
        { () => Clip.ZScore(2.5, 0.97, 0), "warmupSteps" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Invalid_options_throw_naming_the_option_and_its_range(Func<object> build, string option)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(build);
        Assert.Equal(option, e.ParamName);
        Assert.Contains(option, e.Message);
        Assert.Matches("must be|at least", e.Message);
    }

    [Fact]
    public void Policies_refuse_an_empty_parameter_list()
    {
        foreach (var policy in new[] { Clip.Value(1), Clip.GlobalNorm(1), Clip.PerParameterNorm(1), Clip.Adaptive(), Clip.Unitwise(), Clip.ZScore(), Clip.SkipNonFinite(), Clip.Chain(Clip.Value(1)) })
        {
            var e = Assert.Throws<ArgumentException>(() => policy.Apply(Array.Empty<Parameter>()));
            Assert.Contains("empty parameter list", e.Message);
        }
        Assert.Throws<ArgumentException>(() => Clip.Chain());
    }
}
