using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Hooks;

/// <summary>
/// Gradient taps against autograd itself: the gradient a tap sees is the one libtorch computes for that tensor
/// (retain_grad on an untapped copy of the same graph), a scale of −1 gives exactly minus the upstream gradients, and
/// every case where no gradient can flow is a documented no-op or a clear error, never a crash in native code.
/// </summary>
public class GradientTapTests
{
    private static (Tensor W1, Tensor W2, Tensor X) Problem()
    {
        torch.manual_seed(71);
        return (torch.randn(8, 4).requires_grad_(true), torch.randn(3, 8).requires_grad_(true), torch.randn(16, 4));
    }

    [Fact]
    public void The_callback_receives_the_gradient_libtorch_computes_for_that_tensor()
    {
        var (w1, w2, x) = Problem();
        // Reference: the same graph, h kept with retain_grad.
        var h = functional.tanh(x.mm(w1.t()));
        h.retain_grad();
        h.mm(w2.t()).square().mean().backward();
        var expected = TestModels.Values(h.grad!);

        var (v1, v2, _) = Problem();
        double[]? seen = null;
        var tapped = GradientTap.Tap(functional.tanh(x.mm(v1.t())), g => seen = TestModels.Values(g));
        tapped.mm(v2.t()).square().mean().backward();
        Assert.NotNull(seen);
        Assert.Equal(expected.Length, seen!.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], seen[i], 12);
        // The tap changes nothing upstream.
        Assert.Equal(TestModels.Values(w1.grad!), TestModels.Values(v1.grad!));
    }

    [Fact]
    public void Scale_minus_one_gives_exactly_minus_the_upstream_gradients_and_zero_stops_them()
    {
        var (w1, w2, x) = Problem();
        functional.tanh(x.mm(w1.t())).mm(w2.t()).square().mean().backward();

        var (r1, r2, _) = Problem();
        GradientTap.Scale(functional.tanh(x.mm(r1.t())), -1).mm(r2.t()).square().mean().backward();
        Assert.Equal(TestModels.Values(w1.grad!).Select(v => -v), TestModels.Values(r1.grad!));
        Assert.Equal(TestModels.Values(w2.grad!), TestModels.Values(r2.grad!));   // downstream of the tap: untouched

        var (z1, z2, _) = Problem();
        GradientTap.Scale(functional.tanh(x.mm(z1.t())), 0).mm(z2.t()).square().mean().backward();
        Assert.All(TestModels.Values(z1.grad!), v => Assert.Equal(0, v));
    }

    [Fact]
    public void The_forward_value_is_the_input_itself()
    {
        var x = torch.randn(5, 3).requires_grad_(true);
        var y = GradientTap.Tap(x, _ => { });
        Assert.Equal(TestModels.Values(x), TestModels.Values(y));
        Assert.Equal(x.shape, y.shape);
    }

    [Fact]
    public void Where_no_gradient_can_flow_a_tap_is_a_no_op_and_bad_tensors_are_refused_clearly()
    {
        bool called = false;
        var frozen = torch.randn(3, 3);   // requires_grad = false
        Assert.Same(frozen, GradientTap.Tap(frozen, _ => called = true));
        var x = torch.randn(3, 3).requires_grad_(true);
        using (torch.no_grad()) Assert.Same(x, GradientTap.Tap(x, _ => called = true));
        Assert.False(called);

        var ints = torch.ones(3, dtype: ScalarType.Int64);
        Assert.Contains("Only floating-point tensors have gradients; this one is Int64", Assert.Throws<ArgumentException>(() => GradientTap.Tap(ints, _ => { })).Message);
        var gone = torch.randn(2).requires_grad_(true);
        gone.Dispose();
        Assert.Contains("disposed before it was tapped", Assert.Throws<ArgumentException>(() => GradientTap.Scale(gone, 2)).Message);
        Assert.Throws<ArgumentNullException>(() => GradientTap.Tap(x, null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientTap.Scale(x, double.NaN));
    }

    [Fact]
    public void An_exception_in_the_callback_does_not_crash_backward_and_comes_out_at_the_next_tap()
    {
        var (w1, w2, x) = Problem();
        var tapped = GradientTap.Tap(functional.tanh(x.mm(w1.t())), _ => throw new FormatException("from the callback"));
        tapped.mm(w2.t()).sum().backward();   // libtorch's backward completes
        Assert.NotNull(w1.grad);
        var e = Assert.Throws<InvalidOperationException>(() => GradientTap.Tap(x.requires_grad_(true), _ => { }));
        Assert.Contains("A GradientTap callback threw during backward(): from the callback", e.Message);
        Assert.IsType<FormatException>(e.InnerException);
        GradientTap.Tap(x, _ => { });   // reported once
        w1.grad?.zero_();
        functional.tanh(x.mm(w1.t())).mm(w2.t()).sum().backward();
        Assert.NotNull(w1.grad);
    }

    [Fact]
    public void Thousands_of_tapped_steps_leave_no_tensor_behind()
    {
        var (w1, w2, x) = Problem();
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            w1.grad?.zero_();
            w2.grad?.zero_();
            var h = GradientTap.Tap(functional.tanh(x.mm(w1.t())), g => _ = g.shape);
            GradientTap.Scale(h, 0.5).mm(w2.t()).square().mean().backward();
        }
        for (int i = 0; i < 50; i++) Step();
        long before = TestModels.LiveTensors();
        for (int i = 0; i < 2000; i++) Step();
        long after = TestModels.LiveTensors();
        Assert.True(after <= before + 2, $"live tensors {before} → {after}");
    }
}
