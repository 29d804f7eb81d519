using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Monitoring;

/// <summary>Dead units read from the gradients, without hooks, against the closed form: a ReLU unit passes no gradient on a batch exactly when its pre-activation is ≤ 0 for every example.</summary>
public class UnitStatsTests
{
    /// <summary>fc1 → ReLU → fc2, written three ways a user writes the activation; none of them fires a hook.</summary>
    private sealed class TwoLayer : Module<Tensor, Tensor>
    {
        private readonly Module<Tensor, Tensor> fc1;
        private readonly Module<Tensor, Tensor> relu = ReLU();
        private readonly Module<Tensor, Tensor> fc2;
        private readonly string _style;

        public TwoLayer(string style, int input = 6, int hidden = 16) : base(nameof(TwoLayer))
        {
            _style = style;
            fc1 = Linear(input, hidden);
            fc2 = Linear(hidden, 3);
            RegisterComponents();
        }

        public Linear First => (Linear)fc1;

        public override Tensor forward(Tensor x)
        {
            var h = fc1.forward(x);
            h = _style switch
            {
                "module.forward" => relu.forward(h),
                "functional" => functional.relu(h),
                _ => h.relu_(),   // in place
            };
            return fc2.forward(h);
        }
    }

    [Theory]
    [InlineData("module.forward")]
    [InlineData("functional")]
    [InlineData("in-place relu_")]
    public void Units_with_no_positive_pre_activation_in_the_batch_pass_no_gradient(string style)
    {
        torch.manual_seed(21);
        var model = new TwoLayer(style);
        using (torch.no_grad()) model.First.bias![torch.arange(0, 16, 3)] = torch.tensor(-4f);   // units 0, 3, 6, 9, 12, 15 mostly off
        var (x, y) = TestModels.Batch(seed: 22, batch: 24, input: 6);
        long expected;
        using (torch.no_grad())
        using (torch.NewDisposeScope())
            expected = model.First.forward(x).amax(0).le(0).sum().item<long>();   // the closed form
        Assert.InRange(expected, 1, 15);

        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackUpdates = false });
        TestModels.Backward(model, x, y);
        var record = monitor.Capture();
        Assert.Equal(new[] { "fc1", "fc2" }, record.Units.Select(u => u.Layer));
        var fc1 = record.Units[0];
        Assert.Equal(("Linear", 16), (fc1.Module, fc1.Units));
        Assert.Equal(expected, fc1.ZeroUnits);
        Assert.Equal(expected, fc1.DeadUnits);   // one step: dead = no gradient on every step so far
        Assert.Equal(0, record.Units[1].ZeroUnits);   // the output layer always gets a gradient from cross-entropy
        Assert.Empty(record.Activations);             // no hook fired: everything above came from the gradients
    }

    [Fact]
    public void A_unit_is_dead_only_after_DeadUnitSteps_full_captures_without_gradient_in_a_row()
    {
        var model = TestModels.Mlp(seed: 23, input: 4, hidden: 8);
        var fc1Bias = model.named_parameters().First(p => p.name == "fc1.bias").parameter;
        var (x, y) = TestModels.Batch(seed: 24, batch: 16, input: 4);
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { DeadUnitSteps = 3, TrackUpdates = false, TrackActivations = false });
        int Step(bool killUnit0)
        {
            // Every fc1 unit is on for every input (bias +100), except unit 0 when it is switched off (bias −100).
            using (torch.no_grad()) { fc1Bias.fill_(100f); if (killUnit0) fc1Bias[0] = -100f; }
            TestModels.Backward(model, x, y);
            var units = monitor.Capture().Units[0];
            using (torch.no_grad()) foreach (var p in model.parameters()) p.grad!.zero_();
            return units.DeadUnits;
        }
        Assert.Equal(new[] { 1, 1, 1 }, new[] { Step(true), Step(true), Step(true) });   // dead on every capture so far
        Assert.Equal(0, Step(false));                                                   // it passed gradient: the streak resets
        Assert.Equal(new[] { 0, 0, 1 }, new[] { Step(true), Step(true), Step(true) });   // dead again after 3 in a row
        Assert.Equal(3, monitor.History[^1].Units[0].StreakSteps);
    }

    [Fact]
    public void Conv_units_are_output_channels()
    {
        torch.manual_seed(25);
        var model = Sequential(("conv", Conv2d(2, 5, 3)), ("act", ReLU()), ("flat", Flatten()), ("fc", Linear(5 * 4 * 4, 3)));
        var conv = (Conv2d)model.named_children().First().module;
        using (torch.no_grad()) conv.bias![1] = -1000f;   // channel 1 is off everywhere
        var x = torch.randn(8, 2, 6, 6);
        var y = torch.randint(0, 3, new long[] { 8 });
        using var monitor = GradientMonitor.Attach(model);
        TestModels.Backward(model, x, y);
        var units = monitor.Capture().Units[0];
        Assert.Equal(("conv", "Conv2d", 5), (units.Layer, units.Module, units.Units));
        Assert.Equal(1, units.ZeroUnits);
    }

    [Fact]
    public void DeadUnitSteps_below_one_is_refused_with_the_option_named()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => GradientMonitor.Attach(TestModels.Mlp(), new MonitorOptions { DeadUnitSteps = 0 }));
        Assert.Equal("DeadUnitSteps", e.ParamName);
    }
}
