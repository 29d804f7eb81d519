using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Reliability;

/// <summary>
/// The origin of a NaN, named on the step it happens: NaN in the input, in a weight, from log(0) in the loss, and from
/// an overflow inside a middle layer; traced on the first bad step with <see cref="NonFiniteTraceMode.EveryStep"/>, on
/// the second with the default on-demand tracing, whose hooks come off again.
/// </summary>
public sealed class NonFiniteOriginTests
{
    public enum Fault { NaNInput, NaNWeight, LogOfZeroInLoss, OverflowInMiddleLayer }

    [Theory]
    [InlineData(Fault.NaNInput)]
    [InlineData(Fault.NaNWeight)]
    [InlineData(Fault.LogOfZeroInLoss)]
    [InlineData(Fault.OverflowInMiddleLayer)]
    public void The_first_non_finite_step_names_its_origin(Fault fault)
    {
        var model = TestModels.Mlp(seed: 31);
        var (x, y) = TestModels.Batch(seed: 32);
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TraceNonFinite = NonFiniteTraceMode.EveryStep });
        using var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.05), Clip.SkipNonFinite());
        for (int i = 0; i < 3; i++) TestModels.TrainStep(model, monitor, optimizer, x, y);
        Assert.All(monitor.History, r => Assert.Null(r.Origin));

        var record = BadStep(model, monitor, optimizer, x, y, fault);
        var origin = record.Origin;
        Assert.NotNull(origin);
        Assert.True(origin!.Traced);
        switch (fault)
        {
            case Fault.NaNInput:
                Assert.True(origin.InputNonFinite);
                Assert.StartsWith("the input batch held NaN/Inf", origin.Cause);
                Assert.Equal("fc1 (Linear)", origin.FirstNonFiniteModule);
                break;
            case Fault.NaNWeight:
                Assert.False(origin.InputNonFinite);
                Assert.Equal(new[] { "fc2.weight" }, origin.NonFiniteWeights);
                Assert.Equal("fc2 (Linear)", origin.FirstNonFiniteModule);
                Assert.StartsWith("weight(s) fc2.weight held NaN/Inf", origin.Cause);
                break;
            case Fault.LogOfZeroInLoss:
                Assert.Null(origin.FirstNonFiniteModule);
                Assert.True(origin.LossNonFinite);
                Assert.Empty(origin.NonFiniteWeights);
                Assert.StartsWith("every module output was finite and the loss was not", origin.Cause);
                break;
            case Fault.OverflowInMiddleLayer:
                Assert.False(origin.InputNonFinite);
                Assert.Empty(origin.NonFiniteWeights);
                Assert.Equal("fc2 (Linear)", origin.FirstNonFiniteModule);
                Assert.StartsWith("the forward pass first turned non-finite in fc2 (Linear), with finite input and finite weights", origin.Cause);
                break;
        }
        Assert.NotEmpty(origin.NonFiniteGradients);
        var finding = Assert.Single(monitor.Diagnose().Findings, f => f.Kind == FindingKind.NonFiniteGradients);
        Assert.StartsWith($"origin (step {record.Step}): {origin.Cause}", finding.Evidence[0]);
    }

    [Fact]
    public void On_demand_tracing_arms_after_the_first_bad_step_names_the_module_on_the_second_and_comes_off()
    {
        var model = TestModels.Mlp(seed: 33);
        var (x, y) = TestModels.Batch(seed: 34);
        using var monitor = GradientMonitor.Attach(model);
        using var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.05), Clip.SkipNonFinite());
        int hooks = TestModels.TotalPostHooks(model);
        TestModels.TrainStep(model, monitor, optimizer, x, y);
        Assert.Equal(hooks, TestModels.TotalPostHooks(model));   // healthy training: no trace hooks at all

        var first = BadStep(model, monitor, optimizer, x, y, Fault.OverflowInMiddleLayer).Origin!;
        Assert.False(first.Traced);
        Assert.Contains("trace hooks are armed for the next 100 steps", first.Cause);
        Assert.True(TestModels.TotalPostHooks(model) > hooks);

        var second = BadStep(model, monitor, optimizer, x, y, Fault.OverflowInMiddleLayer).Origin!;
        Assert.True(second.Traced);
        Assert.Equal("fc2 (Linear)", second.FirstNonFiniteModule);
        Assert.Equal(hooks, TestModels.TotalPostHooks(model));   // traced: the hooks are off again
        // The diagnosis quotes the traced step, the one that says the most.
        var finding = Assert.Single(monitor.Diagnose().Findings, f => f.Kind == FindingKind.NonFiniteGradients);
        Assert.Contains("fc2 (Linear)", finding.Evidence[0]);
    }

    [Fact]
    public void Tracing_off_never_adds_a_hook_and_still_names_weights_and_loss()
    {
        var model = TestModels.Mlp(seed: 35);
        var (x, y) = TestModels.Batch(seed: 36);
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TraceNonFinite = NonFiniteTraceMode.Off });
        using var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.05), Clip.SkipNonFinite());
        int hooks = TestModels.TotalPostHooks(model);
        var origin = BadStep(model, monitor, optimizer, x, y, Fault.NaNWeight).Origin!;
        Assert.Equal(new[] { "fc2.weight" }, origin.NonFiniteWeights);
        Assert.False(origin.Traced);
        Assert.Equal(hooks, TestModels.TotalPostHooks(model));
    }

    /// <summary>One guarded step with the fault planted; undoes a planted weight afterwards so that later steps are clean.</summary>
    private static StepRecord BadStep(Sequential model, GradientMonitor monitor, GuardedOptimizer optimizer, Tensor x, Tensor y, Fault fault)
    {
        var fc2 = (Linear)model.named_children().First(c => c.name == "fc2").module;
        Tensor? saved = null;
        using (var noGrad = torch.no_grad())
        {
            if (fault == Fault.NaNWeight) { saved = fc2.weight!.detach().clone(); fc2.weight![0, 0] = float.NaN; }
            if (fault == Fault.OverflowInMiddleLayer) { saved = fc2.weight!.detach().clone(); fc2.weight!.fill_(1e38f); }
        }
        using (var scope = torch.NewDisposeScope())
        {
            optimizer.zero_grad();
            var input = fault == Fault.NaNInput ? x.clone().index_put_(float.NaN, torch.tensor(0L), torch.tensor(0L)) : x;
            var output = model.call(input);
            var loss = fault == Fault.LogOfZeroInLoss
                ? -(output.softmax(1).sum() * 0).log()                    // log(0): +Inf loss, NaN gradients
                : nn.functional.cross_entropy(output, y);
            loss.backward();
            monitor.Capture(loss);
            optimizer.step();
        }
        if (saved is not null) using (var noGrad = torch.no_grad()) fc2.weight!.copy_(saved);
        var record = optimizer.LastStep!;
        Assert.True(record.HasNonFinite, $"{fault}: the step should have had NaN/Inf gradients");
        Assert.True(record.Skipped);
        return record;
    }
}
