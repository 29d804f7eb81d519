using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Monitoring;

public class CaptureTests
{
    [Fact]
    public void Statistics_match_an_element_by_element_computation_on_the_host()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
        TestModels.Backward(model, x, y);
        var record = monitor.Capture(0.5);

        var named = model.named_parameters().ToArray();
        Assert.Equal(named.Select(n => n.name), monitor.Parameters.Select(p => p.Name));
        for (int i = 0; i < named.Length; i++)
        {
            var g = TestModels.GradValues(named[i].parameter);
            var s = record.Gradients[i];
            Assert.Equal(g.Length, s.Count);
            Assert.Equal(g.Sum(), s.Sum, 5);
            Assert.Equal(g.Sum(v => v * v), s.SumOfSquares, 1e-6 * Math.Max(1, g.Sum(v => v * v)));
            Assert.Equal(g.Max(Math.Abs), s.MaxAbs, 7);
            Assert.Equal(0, s.NonFiniteCount);
        }
        Assert.Equal(0.5, record.Loss);
        Assert.Equal(1, record.Step);
        Assert.False(record.HasNonFinite);
    }

    [Fact]
    public void Total_norm_equals_the_value_libtorch_clip_grad_norm_returns()
    {
        var model = TestModels.Mlp(seed: 7);
        var (x, y) = TestModels.Batch(seed: 8);
        using var monitor = GradientMonitor.Attach(model);
        TestModels.Backward(model, x, y);
        var record = monitor.Capture();
        double reference = torch.nn.utils.clip_grad_norm_(model.parameters(), 1e30);
        Assert.True(Math.Abs(record.TotalNorm - reference) <= 1e-6 * reference, $"ours {record.TotalNorm}, libtorch {reference}");
    }

    [Fact]
    public void Layers_aggregate_weight_and_bias_in_model_order()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        TestModels.Backward(model, x, y);
        var record = monitor.Capture();
        Assert.Equal(new[] { "fc1", "fc2", "fc3" }, record.Layers.Select(l => l.Layer));
        var fc2 = record.Layers[1].Gradient;
        var expected = GradientStats.Merge(record["fc2.weight"], record["fc2.bias"]);
        Assert.Equal(expected, fc2);
        Assert.Equal(new[] { 0, 1, 2 }, record.Layers.Select(l => l.Depth));
    }

    [Fact]
    public void Loss_tensor_is_read_in_the_same_transfer()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        using var scope = torch.NewDisposeScope();
        var loss = functional.cross_entropy(model.call(x), y);
        loss.backward();
        var record = monitor.Capture(loss);
        Assert.Equal(loss.item<float>(), record.Loss!.Value, 6);
    }

    [Fact]
    public void Nan_and_inf_are_counted_exactly_and_named()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        TestModels.Backward(model, x, y);
        var fc2 = model.named_parameters().First(p => p.name == "fc2.weight").parameter;
        using (torch.no_grad())
        {
            var g = fc2.grad!;
            g[0, 0] = float.NaN;
            g[1, 1] = float.NaN;
            g[2, 2] = float.PositiveInfinity;
        }
        var record = monitor.Capture();
        Assert.True(record.HasNonFinite);
        Assert.Equal(new[] { "fc2.weight" }, record.NonFiniteParameters);
        Assert.Equal(3, record["fc2.weight"].NonFiniteCount);
        Assert.Equal(0, record["fc1.weight"].NonFiniteCount);
    }

    [Fact]
    public void Every_N_captures_full_statistics_on_every_Nth_step_and_history_is_bounded()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { Every = 3, HistoryLength = 2, FullStepsAtStart = 0 });
        var full = new List<long>();
        for (int i = 0; i < 10; i++)
        {
            model.zero_grad();
            TestModels.Backward(model, x, y);
            var r = monitor.Capture();
            if (r.IsFull) full.Add(r.Step);
            else Assert.True(double.IsNaN(r.TotalNorm));
        }
        Assert.Equal(new long[] { 3, 6, 9 }, full);
        Assert.Equal(new long[] { 6, 9 }, monitor.History.Select(r => r.Step));
        Assert.Equal(10, monitor.StepCount);
    }

    [Fact]
    public void The_first_steps_are_full_whatever_Every_says()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { Every = 4, FullStepsAtStart = 3 });
        var full = new List<long>();
        for (int i = 0; i < 9; i++)
        {
            model.zero_grad();
            TestModels.Backward(model, x, y);
            if (monitor.Capture().IsFull) full.Add(monitor.StepCount);
        }
        Assert.Equal(new long[] { 1, 2, 3, 4, 8 }, full);
    }

    [Fact]
    public void A_nan_between_full_steps_is_still_caught_and_kept()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { Every = 10, FullStepsAtStart = 0 });
        TestModels.Backward(model, x, y);
        using (torch.no_grad()) model.named_parameters().First().parameter.grad![0, 0] = float.NaN;
        var r = monitor.Capture();
        Assert.True(r.IsFull);
        Assert.Equal(new[] { "fc1.weight" }, r.NonFiniteParameters);
        Assert.Single(monitor.History);
    }

    [Fact]
    public void Unused_and_frozen_parameters_are_reported_not_crashed_on()
    {
        torch.manual_seed(3);
        var model = new UsedUnusedFrozen();
        using var monitor = GradientMonitor.Attach(model);
        Assert.Contains("frozen.weight", monitor.FrozenParameters);
        Assert.DoesNotContain(monitor.Parameters, p => p.Name == "frozen.weight");
        using (var scope = torch.NewDisposeScope()) model.call(torch.randn(3, 4)).sum().backward();
        var r = monitor.Capture();
        Assert.Contains("unused.weight", r.MissingGradients);
        Assert.Equal(0, r["unused.weight"].Count);
        Assert.True(r["used.weight"].Count > 0);
    }

    [Fact]
    public void StepCaptured_fires_once_per_capture_with_the_record()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        var seen = new List<StepRecord>();
        monitor.StepCaptured += seen.Add;
        TestModels.Backward(model, x, y);
        var r1 = monitor.Capture();
        var r2 = monitor.Capture();
        Assert.Equal(new[] { r1, r2 }, seen);
    }

    [Fact]
    public void Update_ratio_of_plain_SGD_is_learning_rate_times_gradient_norm_over_weight_norm()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        const double lr = 0.1;
        using var monitor = GradientMonitor.Attach(model);
        var optimizer = monitor.Guard(torch.optim.SGD(model.parameters(), lr));
        var named = model.named_parameters().ToArray();
        var weightNorms = named.Select(n => TestModels.L2(TestModels.Values(n.parameter))).ToArray();

        optimizer.zero_grad();
        TestModels.Backward(model, x, y);
        var gradNorms = named.Select(n => TestModels.L2(TestModels.GradValues(n.parameter))).ToArray();
        optimizer.step();

        var ratios = monitor.History.Last().UpdateRatios!;
        for (int i = 0; i < named.Length; i++)
        {
            double expected = lr * gradNorms[i] / weightNorms[i];
            Assert.True(Math.Abs(ratios[i] - expected) <= 1e-4 * expected, $"{named[i].name}: {ratios[i]} vs {expected}");
        }
    }

    [Fact]
    public void Without_a_guard_the_update_ratio_is_measured_at_the_next_capture()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        using var sgd = torch.optim.SGD(model.parameters(), 0.1);
        sgd.zero_grad();
        TestModels.Backward(model, x, y);
        var first = monitor.Capture();
        var gradNorm = TestModels.L2(TestModels.GradValues(model.named_parameters().First().parameter));
        var weightNorm = TestModels.L2(TestModels.Values(model.named_parameters().First().parameter));
        sgd.step();
        Assert.Null(first.UpdateRatios);
        sgd.zero_grad();
        TestModels.Backward(model, x, y);
        monitor.Capture();
        Assert.Equal(0.1 * gradNorm / weightNorm, first.UpdateRatios![0], 4);
        Assert.NotNull(first.Layers[0].UpdateRatio);
    }

    private sealed class UsedUnusedFrozen : Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear used = Linear(4, 2), unused = Linear(4, 2), frozen = Linear(2, 2);

        public UsedUnusedFrozen() : base(nameof(UsedUnusedFrozen))
        {
            frozen.weight!.requires_grad = false;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => frozen.call(used.call(x));
    }
}
