using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Diagnostics;

/// <summary>
/// The causes users really have (gradients never zeroed, unscaled inputs, a learning rate too high or too low), each
/// reproduced in a small loop and checked against numbers computed here from the records or the data, and the causal
/// order that turns several findings into one story.
/// </summary>
public class RootCauseTests(ITestOutputHelper output)
{
    private enum Zero { Guard, Model, Never }

    private static (Tensor X, Tensor Y) Blobs(int n = 128)
    {
        torch.manual_seed(61);
        var y = torch.randint(0, 2, new long[] { n });
        var x = torch.randn(n, 2) * 0.5 + (y.to_type(ScalarType.Float32).unsqueeze(1) * 2 - 1) * 1.5;
        return (x, y);
    }

    private static (Diagnosis Diagnosis, IReadOnlyList<StepRecord> History) Train(Module<Tensor, Tensor> model, Func<Tensor> loss, int steps,
        Func<IEnumerable<TorchSharp.Modules.Parameter>, optim.Optimizer> optimizer, Zero zero = Zero.Guard)
    {
        using var monitor = GradientMonitor.Attach(model);
        using var guarded = monitor.Guard(optimizer(model.parameters()));
        for (int i = 0; i < steps; i++)
        {
            using var scope = torch.NewDisposeScope();
            if (zero == Zero.Guard) guarded.zero_grad();
            else if (zero == Zero.Model) model.zero_grad();
            var l = loss();
            l.backward();
            monitor.Capture(l);
            guarded.step();
        }
        return (monitor.Diagnose(), monitor.History.ToList());
    }

    private static Sequential Mlp(int seed, int input = 2, int outputs = 2)
    {
        torch.manual_seed(seed);
        return Sequential(("fc1", Linear(input, 16)), ("relu1", ReLU()), ("fc2", Linear(16, 16)), ("relu2", ReLU()), ("out", Linear(16, outputs)));
    }

    [Fact]
    public void A_constant_gradient_never_zeroed_gives_an_accumulation_ratio_equal_to_the_step_number()
    {
        // lr 0: the weights never change, so every backward adds the same f: g_t = t·f and ‖g_t‖/‖g_t − g_t−1‖ = t exactly.
        var (x, y) = Blobs();
        var model = Mlp(62);
        var (_, history) = Train(model, () => functional.cross_entropy(model.call(x), y), 12, p => optim.SGD(p, 0.0), Zero.Never);
        Assert.Null(history[0].ZeroGradCalled);
        Assert.All(history.Skip(1), r => Assert.False(r.ZeroGradCalled));
        Assert.Null(history[1].AccumulationRatio);   // the first unzeroed step has no copy to compare with
        foreach (var r in history.Skip(2)) Assert.Equal(r.Step, r.AccumulationRatio!.Value, 3);
    }

    [Fact]
    public void Gradients_never_zeroed_are_the_root_cause_and_critical()
    {
        var (x, y) = Blobs();
        var model = Mlp(63);
        var (d, _) = Train(model, () => functional.cross_entropy(model.call(x), y), 60, p => optim.SGD(p, 0.01), Zero.Never);
        output.WriteLine(d.ToString());
        var root = d.RootCause!;
        Assert.Equal(FindingKind.GradientsNotZeroed, root.Kind);
        Assert.Equal(Severity.Critical, root.Severity);
        Assert.Equal(RemedyKind.ZeroGradients, Assert.Single(root.Remedies).Kind);
        Assert.All(d.Findings.Where(f => f.Severity != Severity.Info).Skip(1), f => Assert.NotNull(f.Cause));
    }

    [Fact]
    public void Gradients_zeroed_by_model_zero_grad_which_the_guard_cannot_see_are_not_taken_for_never_zeroed()
    {
        var (x, y) = Blobs();
        var model = Mlp(63);
        var (d, history) = Train(model, () => functional.cross_entropy(model.call(x), y), 60, p => optim.SGD(p, 0.01), Zero.Model);
        Assert.All(history.Skip(1), r => Assert.False(r.ZeroGradCalled));
        Assert.Contains(history, r => r.AccumulationRatio is not null);   // the probe looked, and found them zeroed
        Assert.DoesNotContain(d.Findings, f => f.Kind == FindingKind.GradientsNotZeroed);
    }

    [Fact]
    public void Zeroing_through_the_guard_costs_no_probe()
    {
        var (x, y) = Blobs();
        var model = Mlp(63);
        var (_, history) = Train(model, () => functional.cross_entropy(model.call(x), y), 10, p => optim.SGD(p, 0.01));
        Assert.All(history.Skip(1), r => Assert.True(r.ZeroGradCalled));
        Assert.All(history, r => Assert.Null(r.AccumulationRatio));
    }

    [Fact]
    public void The_input_scale_is_each_features_mean_and_population_std_over_the_first_batches()
    {
        torch.manual_seed(64);
        var batches = Enumerable.Range(0, 4).Select(_ => torch.randn(32, 3) * torch.tensor(new float[] { 1, 10, 100 }) + torch.tensor(new float[] { 0, 5, 500 })).ToList();
        var model = Sequential(("fc", Linear(3, 1)));
        using var monitor = GradientMonitor.Attach(model);
        foreach (var b in batches)
        {
            model.zero_grad();
            model.call(b).sum().backward();
            monitor.Capture();
        }
        var input = monitor.Profile.Input!;
        var seen = torch.cat(batches.Take(input.Batches).ToList(), 0).to_type(ScalarType.Float64);   // the probe keeps the first three
        Assert.Equal(3, input.Batches);
        var mean = seen.mean(new long[] { 0 }).data<double>().ToArray();
        var std = seen.std(0, unbiased: false).data<double>().ToArray();
        for (int f = 0; f < 3; f++)
        {
            Assert.Equal(mean[f], input.Mean[f], 1e-6 * Math.Max(1, Math.Abs(mean[f])));
            Assert.Equal(std[f], input.Std[f], 1e-6 * Math.Max(1, std[f]));
        }
    }

    [Fact]
    public void Raw_inputs_with_plain_SGD_are_the_root_cause_and_standardised_ones_raise_nothing()
    {
        torch.manual_seed(65);
        var raw = torch.rand(256, 4) * torch.tensor(new float[] { 1000, 50, 1, 1 });
        var y = (raw * torch.tensor(new float[] { 0.01f, 0.2f, 3, -1 })).sum(1, keepdim: true) + 100;
        var broken = Mlp(66, input: 4, outputs: 1);
        var (d, _) = Train(broken, () => functional.mse_loss(broken.call(raw), y), 60, p => optim.SGD(p, 1e-3));
        output.WriteLine(d.ToString());
        Assert.Equal(FindingKind.UnscaledInputs, d.RootCause!.Kind);
        Assert.Contains(d.RootCause.Evidence, e => e.Contains("feature 0 (mean"));

        var standard = (raw - raw.mean(new long[] { 0 }, keepdim: true)) / raw.std(0, keepdim: true);
        var target = (y - y.mean()) / y.std();
        var healthy = Mlp(66, input: 4, outputs: 1);
        var (h, _) = Train(healthy, () => functional.mse_loss(healthy.call(standard), target), 60, p => optim.Adam(p, 1e-2));
        output.WriteLine(h.ToString());
        Assert.DoesNotContain(h.Findings, f => f.Kind == FindingKind.UnscaledInputs);
        Assert.True(h.IsHealthy, h.ToString());
    }

    [Fact]
    public void A_learning_rate_far_too_high_is_the_root_cause_and_its_factor_comes_from_the_update_ratios()
    {
        var (x, y) = Blobs();
        var model = Mlp(67);
        var (d, history) = Train(model, () => functional.cross_entropy(model.call(x), y), 60, p => optim.Adam(p, 1.0));
        output.WriteLine(d.ToString());
        var root = d.RootCause!;
        Assert.Equal(FindingKind.LearningRateTooHigh, root.Kind);
        // Independently: the median over the first five steps of each step's median layer update ratio.
        static double Median(IEnumerable<double> v) { var s = v.OrderBy(a => a).ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
        double ratio = Median(history.Take(5).Select(r => Median(r.Layers.Select(l => l.UpdateRatio!.Value))));
        double factor = Math.Round(ratio / 1e-3 / Math.Pow(10, Math.Floor(Math.Log10(ratio / 1e-3)))) * Math.Pow(10, Math.Floor(Math.Log10(ratio / 1e-3)));
        var remedy = root.Remedies[0];
        Assert.Equal(RemedyKind.LowerLearningRate, remedy.Kind);
        Assert.Equal(factor, remedy.Factor!.Value, 6);
        Assert.Contains($"/= {factor.ToString(System.Globalization.CultureInfo.InvariantCulture)};", remedy.Detail);
        // No range test ran on this model: the call to make one is offered after the factor.
        Assert.Equal(new[] { RemedyKind.LowerLearningRate, RemedyKind.RangeTest }, root.Remedies.Select(r => r.Kind));
        Assert.Contains("LearningRateFinder.Run(model, optimizer", root.Remedies[1].Detail);
        Assert.Equal(1, root.Since);
    }

    [Fact]
    public void After_a_range_test_the_learning_rate_remedy_names_its_rate_and_offers_no_second_test()
    {
        var (x, y) = Blobs();
        var model = Mlp(67);
        var sweep = LearningRateFinder.Run(model, optim.Adam(model.parameters(), 1.0), () => functional.cross_entropy(model.call(x), y), 1e-6, 10, 60);
        output.WriteLine(sweep.ToString());
        Assert.True(sweep.Suggested < 1.0, sweep.ToString());
        var (d, _) = Train(model, () => functional.cross_entropy(model.call(x), y), 60, p => optim.Adam(p, 1.0));
        output.WriteLine(d.ToString());
        var root = d.RootCause!;
        Assert.Equal(FindingKind.LearningRateTooHigh, root.Kind);
        var remedy = Assert.Single(root.Remedies);
        Assert.Equal(sweep.Suggested, remedy.Rate);
        Assert.Equal(1.0 / sweep.Suggested!.Value, remedy.Factor!.Value, 6);
        string rate = LearningRateSweep.Format(sweep.Suggested.Value);
        string test = sweep.DivergedAt is double at ? $"the loss diverged at {LearningRateSweep.Format(at)}" : "the loss did not diverge";
        Assert.Contains($"lower the learning rate to about {rate} (range test: {test}; now 1)", remedy.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith($"g.LearningRate = {rate};", remedy.Detail);
    }

    [Fact]
    public void A_learning_rate_far_too_low_is_named_with_the_factor_that_raises_it_and_the_flat_loss_follows_from_it()
    {
        var (x, y) = Blobs();
        var model = Mlp(68);
        var (d, _) = Train(model, () => functional.cross_entropy(model.call(x), y), 80, p => optim.SGD(p, 1e-7));
        output.WriteLine(d.ToString());
        var root = d.RootCause!;
        Assert.Equal(FindingKind.LearningRateTooLow, root.Kind);
        Assert.True(root.Remedies[0].Factor >= 100);
        Assert.Equal(new[] { RemedyKind.RaiseLearningRate, RemedyKind.RangeTest }, root.Remedies.Select(r => r.Kind));
        var plateau = Assert.Single(d.Findings, f => f.Kind == FindingKind.LossPlateau);
        Assert.Equal(FindingKind.LearningRateTooLow, plateau.Cause);
        Assert.DoesNotContain(plateau.Remedies, r => r.Kind == RemedyKind.RaiseLearningRate);   // the root's numbered remedy, once
    }

    [Fact]
    public void A_sigmoid_net_whose_gradient_collapses_in_every_layer_is_vanishing_not_a_learning_rate_a_million_times_too_low()
    {
        torch.manual_seed(1);
        var model = TestModels.Deep(9, 32, () => Sigmoid(), input: 2, classes: 3);
        var x = torch.randn(300, 2);
        var y = torch.randint(0, 3, new long[] { 300 });
        var (d, history) = Train(model, () => functional.cross_entropy(model.call(x), y), 120, p => optim.SGD(p, 0.05));
        output.WriteLine(d.ToString());
        // The premise, measured: the total norm fell by orders of magnitude while the loss stayed at ln 3.
        Assert.True(history[^1].TotalNorm < 1e-3 * history[0].TotalNorm);
        Assert.DoesNotContain(d.Findings, f => f.Kind == FindingKind.LearningRateTooLow);
        var root = d.RootCause!;
        Assert.Equal(FindingKind.VanishingGradients, root.Kind);
        Assert.Equal(Severity.Critical, root.Severity);
    }

    // ---- The causal order, on findings built by hand -------------------------------------------------

    private static Finding F(FindingKind kind, Severity severity, long? since, params RemedyKind[] remedies) =>
        new(kind, severity, kind.ToString(), Array.Empty<string>(), Array.Empty<string>(), remedies.Select(r => new Remedy(r.ToString(), "") { Kind = r }).ToList()) { Since = since };

    [Fact]
    public void An_explosion_before_saturation_and_vanishing_is_their_cause_and_comes_first()
    {
        var ordered = CausalOrder.Arrange(new[]
        {
            F(FindingKind.VanishingGradients, Severity.Warning, 40, RemedyKind.SwapToRelu),
            F(FindingKind.SaturatedActivations, Severity.Critical, 12, RemedyKind.BatchNorm),
            F(FindingKind.ExplodingGradients, Severity.Warning, 11, RemedyKind.GlobalNormClipping),
            F(FindingKind.ActivationsNotObserved, Severity.Info, null),
        });
        Assert.Equal(new[] { FindingKind.ExplodingGradients, FindingKind.SaturatedActivations, FindingKind.VanishingGradients, FindingKind.ActivationsNotObserved }, ordered.Select(f => f.Kind));
        Assert.Null(ordered[0].Cause);
        Assert.Equal(FindingKind.ExplodingGradients, ordered[1].Cause);
        Assert.Equal(FindingKind.SaturatedActivations, ordered[2].Cause);
        Assert.Equal(Severity.Critical, ordered[0].Severity);   // as severe as the worst problem it leads to
    }

    [Fact]
    public void A_finding_that_began_before_another_is_not_its_consequence()
    {
        var ordered = CausalOrder.Arrange(new[]
        {
            F(FindingKind.ExplodingGradients, Severity.Critical, 30),
            F(FindingKind.VanishingGradients, Severity.Warning, 1),
        });
        Assert.Equal(new[] { FindingKind.VanishingGradients, FindingKind.ExplodingGradients }, ordered.Select(f => f.Kind));
        Assert.All(ordered, f => Assert.Null(f.Cause));
    }

    [Fact]
    public void An_informational_cause_that_explains_a_problem_becomes_a_problem_and_its_remedy_is_not_repeated_below()
    {
        var ordered = CausalOrder.Arrange(new[]
        {
            F(FindingKind.NonFiniteGradients, Severity.Critical, 6, RemedyKind.LowerLearningRate, RemedyKind.SkipNonFinite),
            F(FindingKind.UnscaledInputs, Severity.Info, 1, RemedyKind.StandardizeInputs),
            F(FindingKind.LearningRateTooHigh, Severity.Warning, 2, RemedyKind.LowerLearningRate),
        });
        Assert.Equal(new[] { FindingKind.UnscaledInputs, FindingKind.LearningRateTooHigh, FindingKind.NonFiniteGradients }, ordered.Select(f => f.Kind));
        Assert.Equal(Severity.Critical, ordered[0].Severity);
        Assert.Equal(FindingKind.UnscaledInputs, ordered[1].Cause);
        Assert.Equal(FindingKind.LearningRateTooHigh, ordered[2].Cause);   // the nearest link of the chain
        Assert.Equal(new[] { RemedyKind.SkipNonFinite }, ordered[2].Remedies.Select(r => r.Kind));
    }
}
