using System.Text.Json;
using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using GradientHooks.Initialization;
using GradientHooks.Layers;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Diagnostics;

/// <summary>The seed's cases, reproduced on small seeded models.</summary>
public class DiagnosisTests(ITestOutputHelper output)
{
    /// <summary>Two Gaussian blobs: an easy task.</summary>
    private static (Tensor X, Tensor Y) Blobs(int n = 256)
    {
        torch.manual_seed(51);
        var y = torch.randint(0, 2, new long[] { n });
        var x = torch.randn(n, 2) * 0.5 + (y.to_type(ScalarType.Float32).unsqueeze(1) * 2 - 1) * 1.5;
        return (x, y);
    }

    private static Diagnosis Train(Sequential model, Tensor x, Tensor y, int steps, double lr, IClippingPolicy? clipping = null, Action<int>? beforeStep = null, bool adam = false)
    {
        using var monitor = GradientMonitor.Attach(model);
        var optimizer = monitor.Guard(adam ? torch.optim.Adam(model.parameters(), lr) : torch.optim.SGD(model.parameters(), lr), clipping);
        for (int i = 0; i < steps; i++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            beforeStep?.Invoke(i);
            monitor.Capture(loss);
            optimizer.step();
        }
        return monitor.Diagnose();
    }

    [Fact]
    public void Deep_sigmoid_net_with_default_init_is_diagnosed_as_vanishing()
    {
        var (x, y) = Blobs();
        torch.manual_seed(52);
        var d = Train(TestModels.Deep(15, 32, () => Sigmoid()), x, y, steps: 30, lr: 0.05);
        output.WriteLine(d.ToString());
        var f = d.Findings.Single(f => f.Kind == FindingKind.VanishingGradients);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Contains("fc1", f.Layers);
        Assert.Contains(f.Evidence, e => e.StartsWith("first layer fc1: weight gradient RMS") && e.Contains("× last layer fc15"));
        Assert.Contains(f.Remedies, r => r.Detail.Contains("ActivationSwap.Replace(model, Activation.Sigmoid, Activation.ReLU)"));
        Assert.Contains(f.Remedies, r => r.Detail.Contains("Normalization.InsertBatchNorm(model)"));
        Assert.True(d.Layers[0].RatioToLast < 1e-4);
        Assert.False(d.IsHealthy);
    }

    [Fact]
    public void The_same_net_with_ReLU_He_and_BatchNorm_comes_back_healthy()
    {
        var (x, y) = Blobs();
        torch.manual_seed(52);
        var model = Normalization.InsertBatchNorm(ActivationSwap.Replace(TestModels.Deep(15, 32, () => Sigmoid()), Activation.Sigmoid, Activation.ReLU));
        Init.Apply(model, InitScheme.HeNormal);
        var d = Train(model, x, y, steps: 30, lr: 0.05);
        output.WriteLine(d.ToString());
        Assert.True(d.IsHealthy, d.ToString());
    }

    [Fact]
    public void A_healthy_small_net_on_an_easy_task_raises_no_alarm()
    {
        var (x, y) = Blobs();
        torch.manual_seed(53);
        var d = Train(TestModels.Deep(3, 16, () => ReLU()), x, y, steps: 60, lr: 1e-2, adam: true);
        output.WriteLine(d.ToString());
        Assert.True(d.IsHealthy, d.ToString());
        Assert.DoesNotContain(d.Findings, f => f.Severity >= Severity.Warning);
    }

    [Fact]
    public void Weights_scaled_up_are_diagnosed_as_exploding()
    {
        var (x, y) = Blobs();
        torch.manual_seed(54);
        var model = TestModels.Deep(10, 32, () => ReLU());
        using (torch.no_grad()) foreach (var (name, p) in model.named_parameters()) if (name.EndsWith("weight")) p.mul_(4);
        var d = Train(model, x, y, steps: 20, lr: 0.01);
        output.WriteLine(d.ToString());
        var f = d.Findings.Single(f => f.Kind == FindingKind.ExplodingGradients);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Contains(f.Remedies, r => r.Detail.Contains("Clip.GlobalNorm(1.0)"));
    }

    [Fact]
    public void A_learning_rate_far_too_high_is_diagnosed_as_exploding_and_non_finite()
    {
        var (x, y) = Blobs();
        torch.manual_seed(55);
        var d = Train(TestModels.Deep(6, 32, () => ReLU()), x, y, steps: 40, lr: 3.0);
        output.WriteLine(d.ToString());
        var f = d.Findings.Single(f => f.Kind == FindingKind.ExplodingGradients);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Contains(f.Evidence, e => e.Contains("then NaN/Inf at step"));
        Assert.True(d.Has(FindingKind.NonFiniteGradients));
    }

    [Fact]
    public void Norms_growing_geometrically_are_fitted_and_reported()
    {
        // A synthetic history whose total norm doubles every 4 steps: the log-linear fit must find it.
        var infos = new[] { new ParameterInfo("fc.weight", "fc", new long[] { 1 }, 1) };
        var history = Enumerable.Range(1, 30).Select(s =>
        {
            double norm = Math.Pow(2, s / 4.0);
            return new StepRecord(s, 1.0, new[] { new GradientStats(1, norm, norm * norm, norm, 0) }, infos);
        }).ToList();
        var d = Diagnoser.Diagnose(history);
        var f = d.Findings.Single(f => f.Kind == FindingKind.ExplodingGradients);
        Assert.Contains(f.Evidence, e => e.Contains("doubling every 4 steps") && e.Contains("R² 1.00"));
    }

    [Fact]
    public void ReLU_net_with_a_large_negative_bias_is_diagnosed_as_dying_relu()
    {
        var (x, y) = Blobs();
        torch.manual_seed(56);
        var model = TestModels.Deep(4, 32, () => ReLU());
        using (torch.no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name is "fc2.bias") p.fill_(-10);
        var d = Train(model, x, y, steps: 20, lr: 0.01);
        output.WriteLine(d.ToString());
        var f = d.Findings.Single(f => f.Kind == FindingKind.DyingRelu);
        Assert.Contains("act2", f.Layers);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Contains(f.Remedies, r => r.Detail.Contains("Activation.LeakyReLU"));
    }

    [Fact]
    public void An_injected_NaN_is_reported_on_its_step_with_the_parameter_name()
    {
        var (x, y) = Blobs();
        torch.manual_seed(57);
        var model = TestModels.Deep(3, 16, () => ReLU());
        var target = model.named_parameters().First(p => p.name == "fc2.weight").parameter;
        var d = Train(model, x, y, steps: 12, lr: 0.01, clipping: Clip.SkipNonFinite(),
            beforeStep: i => { if (i == 6) using (torch.no_grad()) target.grad![3, 4] = float.NaN; });
        output.WriteLine(d.ToString());
        var f = d.Findings.Single(f => f.Kind == FindingKind.NonFiniteGradients);
        Assert.Equal(new[] { "fc2.weight" }, f.Layers);
        Assert.Contains(f.Evidence, e => e.StartsWith("first at step 7: fc2.weight (1 non-finite values)"));
        Assert.Contains("every such step was skipped", f.Summary);
    }

    [Fact]
    public void An_empty_history_says_there_is_not_enough_data_and_is_not_healthy()
    {
        var d = Diagnoser.Diagnose(Array.Empty<StepRecord>());
        Assert.False(d.HasEnoughData);
        Assert.False(d.IsHealthy);
        Assert.Equal(FindingKind.NotEnoughData, Assert.Single(d.Findings).Kind);
        Assert.Contains("not enough data", d.ToString());
    }

    [Fact]
    public void A_flat_loss_that_never_fell_is_a_plateau_but_a_converged_one_is_not()
    {
        var infos = new[] { new ParameterInfo("fc.weight", "fc", new long[] { 1 }, 1) };
        StepRecord Step(int s, double loss) => new(s, loss, new[] { new GradientStats(1, 0.1, 0.01, 0.1, 0) }, infos);
        var flat = Enumerable.Range(1, 30).Select(s => Step(s, 0.6931 + 1e-5 * (s % 2))).ToList();
        Assert.True(Diagnoser.Diagnose(flat).Has(FindingKind.LossPlateau));
        var converged = Enumerable.Range(1, 60).Select(s => Step(s, s < 30 ? 1.0 / s : 0.01)).ToList();
        Assert.False(Diagnoser.Diagnose(converged).Has(FindingKind.LossPlateau));
    }

    [Fact]
    public void A_bouncing_loss_is_oscillation_but_mini_batch_noise_around_a_falling_loss_is_not()
    {
        var infos = new[] { new ParameterInfo("fc.weight", "fc", new long[] { 1 }, 1) };
        StepRecord Step(int s, double loss) => new(s, loss, new[] { new GradientStats(1, 0.1, 0.01, 0.1, 0) }, infos);
        // Too large a step: the loss jumps between two levels, ±60 % around 1.
        var bouncing = Enumerable.Range(1, 50).Select(s => Step(s, s % 2 == 0 ? 1.6 : 0.4)).ToList();
        var f = Diagnoser.Diagnose(bouncing).Findings.Single(f => f.Kind == FindingKind.LossOscillation);
        Assert.Contains(f.Evidence, e => e.Contains("successive losses alternate (lag-1 autocorrelation -0.98"));
        // Mini-batch noise: independent losses (exponential, coefficient of variation 1) around a slowly falling mean.
        var random = new Random(4);
        var noisy = Enumerable.Range(1, 50).Select(s => Step(s, (1.0 - s / 200.0) * -Math.Log(1 - random.NextDouble()))).ToList();
        var d = Diagnoser.Diagnose(noisy);
        var roughness = Enumerable.Range(1, 49).Average(i => Math.Abs(noisy[i].Loss!.Value - noisy[i - 1].Loss!.Value)) / noisy.Average(r => r.Loss!.Value);
        Assert.True(roughness > 0.3, $"the noise is as rough as the bounce ({roughness:P0})");
        Assert.False(d.Has(FindingKind.LossOscillation), d.ToString());
        // The statistic itself against its closed form for a period-2 series of length n: r₁ = −(n − 1)/n.
        Assert.Equal(-49.0 / 50, GradientHooks.Diagnostics.Rules.LossRule.LagOneAutocorrelation(bouncing.Select(r => r.Loss!.Value).ToList(), 1.0), 12);
    }

    [Fact]
    public void One_lucky_mini_batch_is_not_taken_for_the_best_loss_but_a_real_divergence_is_found()
    {
        var infos = new[] { new ParameterInfo("fc.weight", "fc", new long[] { 1 }, 1) };
        StepRecord Step(int s, double loss) => new(s, loss, new[] { new GradientStats(1, 0.1, 0.01, 0.1, 0) }, infos);
        // Converged at ≈ 0.05 with a single batch at 0.001 long before the window: not a divergence.
        var steady = Enumerable.Range(1, 120).Select(s => Step(s, s == 30 ? 0.001 : 0.05 + 0.01 * (s % 3))).ToList();
        Assert.False(Diagnoser.Diagnose(steady).Has(FindingKind.LossOscillation), Diagnoser.Diagnose(steady).ToString());
        // Down to 0.05 for 60 steps, then up to 0.5: a divergence, reported against the block median 0.05.
        var diverging = Enumerable.Range(1, 120).Select(s => Step(s, s <= 60 ? 0.05 + 0.01 * (s % 3) : 0.5 + 0.01 * (s % 3))).ToList();
        var f = Diagnoser.Diagnose(diverging).Findings.Single(f => f.Kind == FindingKind.LossOscillation);
        Assert.Contains(f.Evidence, e => e.Contains("its best 0.06"));
        // Blown up at step 3 and never recovered: no good block to compare with, but far above the first loss.
        var blownUp = Enumerable.Range(1, 120).Select(s => Step(s, s < 3 ? 4.17 : 12 + (s % 5))).ToList();
        var g = Diagnoser.Diagnose(blownUp).Findings.Single(f => f.Kind == FindingKind.LossOscillation);
        Assert.Contains(g.Evidence, e => e.Contains("its first value 4.17 at step 1"));
    }

    [Fact]
    public void Json_is_stable_and_round_trips_through_a_parser()
    {
        var (x, y) = Blobs();
        torch.manual_seed(52);
        var d = Train(TestModels.Deep(12, 16, () => Sigmoid()), x, y, steps: 10, lr: 0.05);
        using var doc = JsonDocument.Parse(d.ToJson());
        var root = doc.RootElement;
        Assert.False(root.GetProperty("healthy").GetBoolean());
        Assert.Equal(10, root.GetProperty("stepsAnalyzed").GetInt32());
        Assert.Equal("fc1", root.GetProperty("layers")[0].GetProperty("layer").GetString());
        var finding = root.GetProperty("findings").EnumerateArray().First(f => f.GetProperty("kind").GetString() == "VanishingGradients");
        Assert.Equal("Critical", finding.GetProperty("severity").GetString());
        Assert.True(finding.GetProperty("remedies")[0].TryGetProperty("detail", out _));
    }

    [Fact]
    public void Invalid_thresholds_name_the_threshold()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Diagnoser.Diagnose(Array.Empty<StepRecord>(), new DiagnosticThresholds { VanishingRatio = 2 }));
        Assert.Equal("VanishingRatio", e.ParamName);
    }
}
