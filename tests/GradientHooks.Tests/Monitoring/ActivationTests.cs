using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Monitoring;

public class ActivationTests
{
    [Fact]
    public void Dead_relu_units_are_the_units_with_no_positive_output_in_the_batch()
    {
        torch.manual_seed(5);
        var fc = Linear(4, 6);
        var model = Sequential(("fc", fc), ("act", ReLU()), ("out", Linear(6, 1)));
        using (torch.no_grad())
        {
            // Units 0-2 get a bias of -100 (dead for any input below); units 3-5 a bias of +100 (always active).
            fc.bias!.copy_(torch.tensor(new float[] { -100, -100, -100, 100, 100, 100 }));
        }
        using var monitor = GradientMonitor.Attach(model);
        var x = torch.rand(16, 4);
        using (var scope = torch.NewDisposeScope()) model.call(x).sum().backward();
        var record = monitor.Capture();
        var act = Assert.Single(record.Activations);
        Assert.Equal("act", act.Module);
        Assert.Equal(ActivationFamily.Rectifier, act.Family);
        Assert.Equal(0.5, act.DeadUnitFraction!.Value, 6);
        Assert.Equal(0.5, act.InactiveFraction!.Value, 6);
    }

    [Fact]
    public void Saturated_fraction_of_sigmoid_and_tanh_matches_the_derivative_rule()
    {
        torch.manual_seed(6);
        var model = Sequential(("scale", Linear(1, 1000)), ("sig", Sigmoid()), ("mix", Linear(1000, 1000)), ("tanh", Tanh()), ("out", Linear(1000, 1)));
        using var monitor = GradientMonitor.Attach(model);
        var x = torch.randn(8, 1) * 10;

        // Independent reference: recompute the layer outputs and apply the derivative rule on the host.
        double sigRef, tanhRef;
        using (torch.no_grad())
        {
            var s = torch.sigmoid(((TorchSharp.Modules.Linear)model.named_children().First().module).call(x));
            var deriv = TestModels.Values(s * (1 - s));
            sigRef = deriv.Count(d => d < 0.01 * 0.25) / (double)deriv.Length;
            var mix = (TorchSharp.Modules.Linear)model.named_children().ElementAt(2).module;
            var t = TestModels.Values(torch.tanh(mix.call(s)));
            tanhRef = t.Count(v => 1 - v * v < 0.01) / (double)t.Length;
        }
        using (var scope = torch.NewDisposeScope()) model.call(x).sum().backward();
        var record = monitor.Capture();
        Assert.Equal(sigRef, record.Activations.Single(a => a.Module == "sig").SaturatedFraction!.Value, 1e-6);
        Assert.Equal(tanhRef, record.Activations.Single(a => a.Module == "tanh").SaturatedFraction!.Value, 1e-6);
        Assert.True(sigRef > 0.05, "the test input should saturate some sigmoid outputs");
    }

    [Fact]
    public void Dispose_removes_every_forward_hook()
    {
        var model = TestModels.Mlp();
        var monitor = GradientMonitor.Attach(model);
        Assert.Equal(2, monitor.HookedActivationCount);
        var act1 = model.named_children().ElementAt(1).module;
        Assert.Equal(1, TestModels.PostHookCount(act1));
        monitor.Dispose();
        Assert.Equal(0, TestModels.PostHookCount(act1));
        monitor.Dispose(); // safe twice
        using var again = GradientMonitor.Attach(model);
        Assert.Equal(1, TestModels.PostHookCount(act1));
    }

    [Fact]
    public void Eval_mode_forward_passes_are_not_recorded()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        model.eval();
        TestModels.Backward(model, x, y);
        Assert.Empty(monitor.Capture().Activations);
        model.train();
    }

    [Fact]
    public void A_failing_hook_never_breaks_the_forward_pass_and_is_reported()
    {
        // A module the tracker takes for a ReLU but whose output is complex: sign() and amax() are not defined for
        // complex tensors, so the statistics fail inside the hook.
        var odd = new ReLU();
        var model = Sequential(("fc", Linear(3, 2)), ("act", odd));
        using var monitor = GradientMonitor.Attach(model);
        Tensor y;
        using (torch.no_grad()) y = model.call(torch.randn(4, 3));
        Assert.Equal(ScalarType.ComplexFloat32, y.dtype);
        var error = Assert.Single(monitor.ActivationHookErrors);
        Assert.StartsWith("act (ReLU):", error);
        model.call(torch.randn(4, 3));                                  // still works, no second report
        Assert.Single(monitor.ActivationHookErrors);
    }

    /// <summary>Named like TorchSharp's ReLU on purpose; returns x + ix.</summary>
    private sealed class ReLU : Module<Tensor, Tensor>
    {
        public ReLU() : base(nameof(ReLU)) { }

        public override Tensor forward(Tensor x) => torch.complex(x, x);
    }
}
