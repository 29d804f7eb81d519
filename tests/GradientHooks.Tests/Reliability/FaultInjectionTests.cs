using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Reliability;

/// <summary>
/// NaN or Inf planted in the input, the loss, one gradient or one weight: the guarded step is skipped and reported,
/// weights and optimizer state are left bit for bit as they were, training resumes once the fault is gone, and
/// every hook comes off at Dispose.
/// </summary>
public sealed class FaultInjectionTests
{
    public enum Fault { NaNInput, InfInput, InfLoss, NaNGradient, NaNWeight }

    [Theory]
    [InlineData(Fault.NaNInput)]
    [InlineData(Fault.InfInput)]
    [InlineData(Fault.InfLoss)]
    [InlineData(Fault.NaNGradient)]
    [InlineData(Fault.NaNWeight)]
    public void A_fault_skips_the_step_keeps_the_state_and_training_resumes(Fault fault)
    {
        var model = TestModels.Mlp(seed: 11);
        var (x, y) = TestModels.Batch(seed: 12);
        var monitor = GradientMonitor.Attach(model);
        var optimizer = monitor.Guard(optim.Adam(model.parameters(), 1e-2), Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1.0)));
        var firstWeight = model.parameters().First();
        for (var i = 0; i < 3; i++) Step(model, monitor, optimizer, x, y, null);

        var weights = model.parameters().Select(TestModels.Values).ToArray();
        var state = Serialized(optimizer);
        float savedWeight = 0;
        Step(model, monitor, optimizer, x, y, fault switch
        {
            Fault.NaNInput => new Plant { Input = t => t[0, 0] = float.NaN },
            Fault.InfInput => new Plant { Input = t => t[1, 2] = float.PositiveInfinity },
            Fault.InfLoss => new Plant { Loss = l => l * float.PositiveInfinity },
            Fault.NaNGradient => new Plant { AfterBackward = () => firstWeight.grad![2, 3] = float.NaN },
            _ => new Plant
            {
                Before = () =>
                {
                    savedWeight = firstWeight[0, 0].item<float>();
                    using var noGrad = torch.no_grad();
                    firstWeight[0, 0] = float.NaN;
                    weights[0][0] = double.NaN;
                },
            },
        });

        var record = optimizer.LastStep!;
        Assert.True(record.Skipped, $"{fault}: {record.Clipping}");
        Assert.True(record.HasNonFinite);
        Assert.Contains("update skipped", record.Clipping!.Reason);
        var after = model.parameters().Select(TestModels.Values).ToArray();
        for (var i = 0; i < weights.Length; i++) Assert.Equal(weights[i], after[i]);
        Assert.Equal(state, Serialized(optimizer));
        var diagnosis = monitor.Diagnose();
        var finding = diagnosis.Findings.Single(f => f.Kind == FindingKind.NonFiniteGradients);
        Assert.Contains(finding.Evidence, e => e.StartsWith("first at step 4: "));

        // The fault removed (the NaN weight restored from the value saved before it), training goes on.
        if (fault == Fault.NaNWeight)
            using (torch.no_grad()) firstWeight[0, 0] = savedWeight;
        Step(model, monitor, optimizer, x, y, null);
        Assert.False(optimizer.LastStep!.Skipped);
        Assert.All(model.parameters().SelectMany(TestModels.Values), v => Assert.True(double.IsFinite(v)));
        Assert.NotEqual(TestModels.Values(model.parameters().Last()), after[^1]);

        monitor.Dispose();
        Assert.Equal(0, TestModels.TotalPostHooks(model));
    }

    [Fact]
    public void A_diverging_learning_rate_is_diagnosed_and_with_clipping_the_weights_stay_finite()
    {
        var (x, y) = TestModels.Batch(seed: 13);
        var wild = TestModels.Mlp(seed: 14);
        using (var monitor = GradientMonitor.Attach(wild))
        {
            var optimizer = monitor.Guard(optim.SGD(wild.parameters(), 200.0), Clip.SkipNonFinite());
            for (var i = 0; i < 30; i++) Step(wild, monitor, optimizer, x, y, null);
            var d = monitor.Diagnose();
            Assert.True(d.Has(FindingKind.ExplodingGradients) || d.Has(FindingKind.NonFiniteGradients) || d.Has(FindingKind.LossOscillation), d.ToString());
            Assert.False(d.IsHealthy);
            // The guard never applied a non-finite update: whatever the weights did, no NaN came from a gradient.
            Assert.All(monitor.History.Where(r => r.HasNonFinite), r => Assert.True(r.Skipped));
        }
        Assert.Equal(0, TestModels.TotalPostHooks(wild));

        var tamed = TestModels.Mlp(seed: 14);
        using (var monitor = GradientMonitor.Attach(tamed))
        {
            var optimizer = monitor.Guard(optim.SGD(tamed.parameters(), 200.0), Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(0.01)));
            for (var i = 0; i < 30; i++) Step(tamed, monitor, optimizer, x, y, null);
            Assert.All(tamed.parameters().SelectMany(TestModels.Values), v => Assert.True(double.IsFinite(v)));
            Assert.All(monitor.History, r => Assert.True(r.Clipping!.NormAfter <= 0.01 * (1 + 1e-6) || r.Skipped));
        }
    }

    [Fact]
    public void A_failing_activation_hook_and_a_failing_forward_still_leave_no_hook_after_Dispose()
    {
        var model = TestModels.Mlp(seed: 15);
        var monitor = GradientMonitor.Attach(model);
        Assert.True(TestModels.TotalPostHooks(model) > 0);
        // The user's forward throws halfway (a shape error inside libtorch): the monitor is untouched.
        Assert.ThrowsAny<Exception>(() => model.call(torch.randn(4, 5)));
        var (x, y) = TestModels.Batch(seed: 16);
        var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.01), Clip.SkipNonFinite());
        Step(model, monitor, optimizer, x, y, null);
        Assert.False(optimizer.LastStep!.Skipped);
        monitor.Dispose();
        Assert.Equal(0, TestModels.TotalPostHooks(model));
        // The model works without the monitor, and a new monitor can attach.
        using var again = GradientMonitor.Attach(model);
        Assert.True(TestModels.TotalPostHooks(model) > 0);
    }

    private sealed class Plant
    {
        public Action? Before;
        public Action<Tensor>? Input;
        public Func<Tensor, Tensor>? Loss;
        public Action? AfterBackward;
    }

    private static void Step(Sequential model, GradientMonitor monitor, optim.Optimizer optimizer, Tensor x, Tensor y, Plant? plant)
    {
        using var scope = torch.NewDisposeScope();
        plant?.Before?.Invoke();
        var input = x.clone();
        if (plant?.Input is { } poison) using (torch.no_grad()) poison(input);
        optimizer.zero_grad();
        var loss = nn.functional.cross_entropy(model.call(input), y);
        if (plant?.Loss is { } spoil) loss = spoil(loss);
        loss.backward();
        if (plant?.AfterBackward is { } after) using (torch.no_grad()) after();
        monitor.Capture(loss);
        optimizer.step();
    }

    private static byte[] Serialized(optim.Optimizer optimizer)
    {
        var path = Path.GetTempFileName();
        try
        {
            ((GuardedOptimizer)optimizer).save_state_dict(path);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
