using GradientHooks.Initialization;
using GradientHooks.Layers;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Layers;

/// <summary>The seed's story on a 20-layer MLP: sigmoid gradients vanish; ReLU + He (+ BatchNorm) repairs them.</summary>
public class DeepSigmoidRemedyTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Depth = 20, Width = 32;

    private static Sequential DeepSigmoid() => TestModels.Deep(Depth, Width, () => Sigmoid());

    /// <summary>XOR of the signs of two coordinates: not linearly separable, easy for a working deep net.</summary>
    private static (Tensor X, Tensor Y) Xor()
    {
        torch.manual_seed(41);
        var x = torch.rand(512, 2) * 2 - 1;
        var y = (x[.., 0] * x[.., 1]).gt(0).to_type(ScalarType.Int64);
        return (x, y);
    }

    /// <summary>‖∇ first layer weight‖ / ‖∇ last layer weight‖ on one batch.</summary>
    private static double FirstOverLast(Sequential model, Tensor x, Tensor y)
    {
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
        model.zero_grad();
        TestModels.Backward(model, x, y);
        var r = monitor.Capture();
        return r["fc1.weight"].Norm / r[$"fc{Depth}.weight"].Norm;
    }

    private static (double First, double Last) Train(Sequential model, Tensor x, Tensor y, int steps)
    {
        var optimizer = torch.optim.SGD(model.parameters(), 0.05, momentum: 0.9);
        double first = 0, last = 0;
        for (int i = 0; i < steps; i++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            optimizer.step();
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        return (first, last);
    }

    [Fact]
    public void Sigmoid_is_orders_of_magnitude_off_and_swap_plus_He_plus_BatchNorm_fixes_it()
    {
        var (x, y) = Xor();
        torch.manual_seed(42);
        var sigmoid = DeepSigmoid();
        double before = FirstOverLast(sigmoid, x, y);
        Assert.True(before < 1e-4, $"first/last gradient ratio of the sigmoid net: {before:E2}");

        torch.manual_seed(43);
        var repaired = Normalization.InsertBatchNorm(ActivationSwap.Replace(DeepSigmoid(), Activation.Sigmoid, Activation.ReLU));
        Init.Apply(repaired, InitScheme.HeNormal);
        double after = FirstOverLast(repaired, x, y);
        Assert.True(after > 0.1 && after < 10, $"first/last gradient ratio after the remedies: {after:E2}");

        torch.manual_seed(44);
        var swappedOnly = ActivationSwap.Replace(DeepSigmoid(), Activation.Sigmoid, Activation.ReLU);
        Init.Apply(swappedOnly, InitScheme.HeNormal);
        double heOnly = FirstOverLast(swappedOnly, x, y);
        Assert.True(heOnly > 0.1 && heOnly < 10, $"first/last gradient ratio with ReLU + He only: {heOnly:E2}");

        var (s0, s1) = Train(sigmoid, x, y, 150);
        var (r0, r1) = Train(repaired, x, y, 150);
        output.WriteLine($"first/last gradient ratio: sigmoid {before:E2}, ReLU+He {heOnly:E2}, ReLU+He+BN {after:E2}; loss sigmoid {s0:F4}->{s1:F4}, repaired {r0:F4}->{r1:F4}");
        Assert.True(s1 > 0.95 * s0, $"the sigmoid net should not learn: loss {s0:F4} -> {s1:F4}");
        Assert.True(r1 < 0.5 * r0, $"the repaired net should learn: loss {r0:F4} -> {r1:F4}");
    }

    [Fact]
    public void Twenty_sigmoid_derivatives_multiply_to_at_most_a_quarter_to_the_twentieth()
    {
        // σ'(x) = σ(x)(1 − σ(x)) peaks at x = 0 with 1/4; check it on a grid, against libtorch's own autograd.
        var grid = torch.linspace(-10, 10, 2001, requires_grad: true);
        torch.sigmoid(grid).sum().backward();
        var derivative = TestModels.Values(grid.grad!);
        Assert.Equal(0.25, derivative.Max(), 6);
        Assert.Equal(0.0066480566707901544, derivative[1500], 6);   // σ'(5) ≈ 0.0066
        Assert.True(Math.Pow(derivative.Max(), 20) <= Math.Pow(0.25, 20) * (1 + 1e-9));
        Assert.Equal(9.094947017729282e-13, Math.Pow(0.25, 20), 1e-25);
    }
}
