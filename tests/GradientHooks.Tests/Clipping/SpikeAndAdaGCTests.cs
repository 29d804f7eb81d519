using GradientHooks.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Clipping;

/// <summary>AdaGC against a case computed by hand from the paper's update rule; spike skipping against its rule.</summary>
public class SpikeAndAdaGCTests
{
    private static Parameter Param(params float[] grad)
    {
        var p = new Parameter(torch.ones(grad.Length));
        p.grad = torch.tensor(grad);
        return p;
    }

    private static Parameter[] Params(float a, float b) => new[] { Param(a), Param(b) };

    [Fact]
    public void AdaGC_follows_the_paper_by_hand_through_warm_up_and_per_tensor_steps()
    {
        // λ_abs = 1, λ_rel = 1.5, β = 0.5, two warm-up steps; two tensors whose gradients are single numbers.
        var policy = (AdaGCClipping)Clip.AdaGC(lambdaRel: 1.5, beta: 0.5, warmupSteps: 2, lambdaAbs: 1.0);

        // Warm-up 1: ‖g‖ = 5 (3, 4) → h = 1/5; ĝ = (0.6, 0.8); γ = min(∞, ĝ) = (0.6, 0.8).
        var p = Params(3, 4);
        var r = policy.Apply(p);
        Assert.True(r.Clipped);
        Assert.Equal(5, r.NormBefore, 6);
        Assert.Equal(1, r.NormAfter, 6);
        Assert.Equal(0.6, TestModels.GradValues(p[0])[0], 6);
        Assert.Equal(0.8, TestModels.GradValues(p[1])[0], 6);
        Assert.Equal(new[] { 0.6, 0.8 }, policy.Gamma.Select(g => Math.Round(g, 6)));

        // Warm-up 2: ‖g‖ = 0.5 (0.3, 0.4) ≤ λ_abs → h = 1; γ = min(γ, ĝ) = (0.3, 0.4).
        p = Params(0.3f, 0.4f);
        Assert.False(policy.Apply(p).Clipped);
        Assert.Equal(new[] { 0.3, 0.4 }, policy.Gamma.Select(g => Math.Round(g, 6)));

        // Per tensor: g = (1.2, 0.5). h₁ = min(1.5·0.3/1.2, 1) = 0.375 → ĝ₁ = 0.45; h₂ = min(1.5·0.4/0.5, 1) = 1 → ĝ₂ = 0.5.
        // γ₁ = 0.5·0.3 + 0.5·0.45 = 0.375; γ₂ = 0.5·0.4 + 0.5·0.5 = 0.45.
        p = Params(1.2f, 0.5f);
        r = policy.Apply(p);
        Assert.True(r.Clipped);
        Assert.Equal(0.45, TestModels.GradValues(p[0])[0], 6);
        Assert.Equal(0.5, TestModels.GradValues(p[1])[0], 6);
        Assert.Equal(Math.Sqrt(0.45 * 0.45 + 0.5 * 0.5), r.NormAfter, 6);
        Assert.Equal(0.375, policy.Gamma[0], 6);
        Assert.Equal(0.45, policy.Gamma[1], 6);

        // A tensor with no gradient this step keeps its γ; the other: h = min(1.5·0.45/0.6, 1) = 1, γ₂ = 0.5·0.45 + 0.5·0.6.
        var silent = Param(0);
        p = new[] { silent, Param(0.6f) };
        Assert.False(policy.Apply(p).Clipped);
        Assert.Equal(0.375, policy.Gamma[0], 6);
        Assert.Equal(0.525, policy.Gamma[1], 6);
    }

    [Fact]
    public void AdaGC_leaves_non_finite_gradients_and_its_averages_alone()
    {
        var policy = (AdaGCClipping)Clip.AdaGC(warmupSteps: 1);
        policy.Apply(Params(0.3f, 0.4f));
        var gamma = policy.Gamma.ToArray();
        var p = Params(float.NaN, 1);
        var r = policy.Apply(p);
        Assert.False(r.Clipped);
        Assert.Equal(gamma, policy.Gamma);
        Assert.Equal(1, TestModels.GradValues(p[1])[0]);
    }

    [Fact]
    public void SkipSpikes_skips_an_unprecedented_norm_far_above_its_median_and_nothing_else()
    {
        var policy = (SpikeSkipping)Clip.SkipSpikes(z: 6, window: 50, warmupSteps: 20);
        var random = new Random(3);
        // A heavy-tailed but healthy sequence: log-normal norms, σ(ln) = 0.5, with a hard batch 4× the median every 10 steps.
        for (int i = 0; i < 200; i++)
        {
            double n = Math.Exp(0.5 * Normal(random)) * (i % 10 == 9 ? 4 : 1);
            Assert.Null(policy.Check(n, loss: 1.0));
        }
        // 1000× the median: z = ln 1000 / σ ≈ 6.9/0.5 > 6, ≥ 3×, and above every applied value: skipped, and it says why.
        var reason = policy.Check(1000, loss: 1.0);
        Assert.NotNull(reason);
        Assert.Contains("total gradient norm 1000", reason);
        Assert.Contains("update skipped", reason);
        // The same fault again is skipped again: a skipped value never raises the bar.
        Assert.NotNull(policy.Check(1000, loss: 1.0));
        Assert.Equal(2, policy.SkippedSteps);
        // A lasting change of level is learned: after half a window at 1000×, the median moves and the steps go on.
        int skipped = 0;
        for (int i = 0; i < 50; i++) if (policy.Check(1000 * Math.Exp(0.1 * Normal(random)), 1.0) != null) skipped++;
        Assert.InRange(skipped, 1, 26);
        Assert.Null(policy.Check(1000, 1.0));
    }

    [Fact]
    public void SkipSpikes_watches_the_loss_only_when_asked_and_any_non_finite_value_skips()
    {
        var normOnly = (SpikeSkipping)Clip.SkipSpikes(warmupSteps: 5);
        var both = (SpikeSkipping)Clip.SkipSpikes(warmupSteps: 5, signals: SpikeSignals.GradientNorm | SpikeSignals.Loss);
        for (int i = 0; i < 30; i++)
        {
            double loss = 1 + 0.01 * (i % 3);
            Assert.Null(normOnly.Check(1 + 0.01 * (i % 5), loss));
            Assert.Null(both.Check(1 + 0.01 * (i % 5), loss));
        }
        Assert.Null(normOnly.Check(1, loss: 1e6));
        Assert.Contains("loss 1E+06", both.Check(1, loss: 1e6));
        Assert.Contains("NaN", normOnly.Check(double.NaN, 1));
        // During warm-up nothing is a spike.
        var fresh = (SpikeSkipping)Clip.SkipSpikes(warmupSteps: 20);
        for (int i = 0; i < 19; i++) fresh.Check(1, null);
        Assert.Null(fresh.Check(1e9, null));
    }

    [Fact]
    public void SkipSpikes_in_a_guard_leaves_weights_and_optimizer_state_untouched_on_the_skipped_step()
    {
        var model = TestModels.Mlp(seed: 4);
        var (x, y) = TestModels.Batch(seed: 5);
        using var monitor = GradientMonitor.Attach(model);
        var policy = (SpikeSkipping)Clip.SkipSpikes(warmupSteps: 10);
        using var optimizer = monitor.Guard(optim.Adam(model.parameters(), 1e-3), Clip.Chain(Clip.SkipNonFinite(), policy));
        for (int i = 0; i < 30; i++) TestModels.TrainStep(model, monitor, optimizer, x, y);
        Assert.Equal(0, optimizer.SkippedSteps);

        var before = model.parameters().Select(TestModels.Values).ToArray();
        using (var scope = torch.NewDisposeScope())
        {
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(model.call(x * 1e4), y) * 1e4;   // a corrupted batch: gradients ~1e8× larger
            loss.backward();
            monitor.Capture(loss);
            optimizer.step();
        }
        Assert.True(optimizer.LastStep!.Skipped, optimizer.LastStep.Clipping?.ToString());
        Assert.Contains("spike", optimizer.LastStep.Clipping!.Reason);
        var after = model.parameters().Select(TestModels.Values).ToArray();
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);
        TestModels.TrainStep(model, monitor, optimizer, x, y);
        Assert.False(optimizer.LastStep!.Skipped);
    }

    [Theory]
    [InlineData("z", 0.0)]
    [InlineData("window", 1.0)]
    [InlineData("warmupSteps", 1.0)]
    [InlineData("minRatio", 0.5)]
    public void SkipSpikes_options_are_validated_by_name(string option, double value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => option switch
        {
            "z" => Clip.SkipSpikes(z: value),
            "window" => Clip.SkipSpikes(window: (int)value),
            "warmupSteps" => Clip.SkipSpikes(warmupSteps: (int)value),
            _ => Clip.SkipSpikes(minRatio: value),
        });
        Assert.Equal(option, e.ParamName);
        Assert.Contains("Clip.SkipSpikes", e.Message);
    }

    [Theory]
    [InlineData("lambdaRel", 0.9)]
    [InlineData("beta", 1.0)]
    [InlineData("warmupSteps", 0.0)]
    [InlineData("lambdaAbs", -1.0)]
    public void AdaGC_options_are_validated_by_name(string option, double value)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => option switch
        {
            "lambdaRel" => Clip.AdaGC(lambdaRel: value),
            "beta" => Clip.AdaGC(beta: value),
            "warmupSteps" => Clip.AdaGC(warmupSteps: (int)value),
            _ => Clip.AdaGC(lambdaAbs: value),
        });
        Assert.Equal(option, e.ParamName);
        Assert.Contains("Clip.AdaGC", e.Message);
    }

    private static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
}
