using GradientHooks.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Hooks;

/// <summary>
/// ∂L/∂h recorded by the monitor's taps against libtorch's own: each Linear output kept with retain_grad in a hand-run
/// copy of the same forward pass; backward order is the reverse of data flow; the verdict is judged on ∂L/∂h.
/// </summary>
public class OutputGradientTests
{
    private static Sequential DeepSigmoid(int seed)
    {
        torch.manual_seed(seed);
        return TestModels.Deep(8, 16, () => Sigmoid(), input: 4, classes: 3);
    }

    [Fact]
    public void Output_gradients_of_a_deep_sigmoid_net_match_retain_grad_and_fall_toward_the_input()
    {
        var model = DeepSigmoid(81);
        torch.manual_seed(82);
        var x = torch.randn(32, 4);
        var y = torch.randint(0, 3, new long[] { 32 });

        // Reference: the same layers run by hand, each Linear output kept with retain_grad.
        var outputs = new List<(string Name, Tensor H)>();
        var h = x;
        foreach (var (name, module) in model.named_children())
        {
            h = ((Module<Tensor, Tensor>)module).forward(h);
            if (module is Linear) { h.retain_grad(); outputs.Add((name, h)); }
        }
        functional.cross_entropy(h, y).backward();
        var expected = outputs.ToDictionary(o => o.Name, o => TestModels.L2(TestModels.Values(o.H.grad!)));
        model.zero_grad();

        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackOutputGradients = true });
        functional.cross_entropy(model.call(x), y).backward();
        var record = monitor.Capture();
        Assert.Equal(expected.Keys.Order(), record.OutputGradients.Select(o => o.Name).Order());
        foreach (var o in record.OutputGradients)
            Assert.Equal(expected[o.Name], o.Gradient.Norm, expected[o.Name] * 1e-6 + 1e-15);
        // Backward reaches the last layer first: its order is the reverse of data flow.
        var byOrder = record.OutputGradients.OrderBy(o => o.BackwardOrder).Select(o => o.Name).ToList();
        Assert.Equal(Enumerable.Range(1, 8).Select(i => $"fc{i}").Reverse(), byOrder);
        // And the sizes fall toward the input.
        Assert.True(record.OutputGradients.First(o => o.Name == "fc1").Gradient.Norm < 1e-3 * record.OutputGradients.First(o => o.Name == "fc8").Gradient.Norm);
    }

    [Fact]
    public void Taps_in_a_forward_that_calls_forward_order_a_head_first_model_and_the_verdict_is_judged_on_them()
    {
        torch.manual_seed(83);
        var model = new HeadFirstTapped();
        using var monitor = GradientMonitor.Attach(model);
        model.Monitor = monitor;
        var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.1));
        torch.manual_seed(84);
        var x = torch.randn(64, 4);
        var y = torch.randint(0, 3, new long[] { 64 });
        for (int i = 0; i < 30; i++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            monitor.Capture(loss);
            optimizer.step();
        }
        var last = monitor.History[^1];
        var dataFlow = last.OutputGradients.OrderByDescending(o => o.BackwardOrder).Select(o => o.Name).ToList();
        Assert.Equal(new[] { "body.0", "body.1", "body.2", "body.3", "body.4", "body.5", "head" }, dataFlow);
        var vanishing = Assert.Single(monitor.Diagnose().Findings, f => f.Kind == FindingKind.VanishingGradients);
        Assert.StartsWith("first layer body.0: output gradient ∂L/∂h RMS", vanishing.Evidence[0]);
        Assert.Contains(vanishing.Evidence, e => e.StartsWith("weight gradients agree"));
    }

    [Fact]
    public void Light_steps_record_nothing_and_Dispose_removes_the_taps()
    {
        var model = DeepSigmoid(85);
        var x = torch.randn(8, 4);
        using (var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackOutputGradients = true, Every = 3, FullStepsAtStart = 0, TrackActivations = false }))
        {
            for (int i = 1; i <= 6; i++)
            {
                using var scope = torch.NewDisposeScope();
                model.zero_grad();
                model.call(x).square().mean().backward();
                var r = monitor.Capture();
                Assert.Equal(i % 3 == 0 ? 8 : 0, r.OutputGradients.Count);
            }
            Assert.Equal(8, TestModels.TotalPostHooks(model));
        }
        Assert.Equal(0, TestModels.TotalPostHooks(model));
    }

    [Fact]
    public void Five_thousand_tapped_steps_keep_the_live_tensor_count_flat()
    {
        var model = DeepSigmoid(86);
        var x = torch.randn(8, 4);
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackOutputGradients = true, HistoryLength = 50 });
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            model.zero_grad();
            model.call(x).square().mean().backward();
            monitor.Capture();
        }
        for (int i = 0; i < 100; i++) Step();
        long before = TestModels.LiveTensors();
        for (int i = 0; i < 5000; i++) Step();
        long after = TestModels.LiveTensors();
        Assert.True(after <= before + 2, $"live tensors {before} → {after}");
        Assert.Equal(8, monitor.History[^1].OutputGradients.Count);
    }

    /// <summary>A head declared first, a ModuleList body run with .forward() and tapped by hand, as the docs show.</summary>
    private sealed class HeadFirstTapped : Module<Tensor, Tensor>
    {
        private readonly Linear head = Linear(16, 3);
        private readonly ModuleList<Module<Tensor, Tensor>> body = new();
        public GradientMonitor? Monitor;

        public HeadFirstTapped() : base(nameof(HeadFirstTapped))
        {
            for (int i = 0; i < 6; i++) body.Add(Linear(i == 0 ? 4 : 16, 16));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            for (int i = 0; i < body.Count; i++) x = functional.sigmoid(Monitor!.Tap(body[i].forward(x), $"body.{i}"));
            return Monitor!.Tap(head.forward(x), "head");
        }
    }
}
