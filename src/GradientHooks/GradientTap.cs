using GradientHooks.Hooks;
using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks;

/// <summary>
/// Hooks on the gradient flowing back through a tensor, which TorchSharp does not have (PyTorch's
/// <c>Tensor.register_hook</c>), built on TorchSharp's custom autograd functions: an identity in the forward pass whose
/// backward sees ∂L/∂x and passes it on. Use the returned tensor in place of <c>x</c>:
/// <code>
/// h = GradientTap.Tap(h, g => Console.WriteLine(g.norm().item&lt;float&gt;()));   // look at ∂L/∂h
/// h = GradientTap.Scale(h, -1);                                                  // gradient reversal (DANN)
/// </code>
/// Where no gradient can flow (inside <c>torch.no_grad()</c>, or a tensor that does not require grad) the tap is a
/// documented no-op: the tensor comes back unchanged and the callback is never called.
/// </summary>
public static class GradientTap
{
    /// <summary>
    /// Returns <paramref name="x"/> (a view, no copy) such that during <c>backward()</c> <paramref name="onGradient"/>
    /// receives ∂L/∂x, the gradient of the loss with respect to this tensor, before it flows on unchanged. The callback
    /// runs on the thread that runs the backward pass and must not keep the tensor it receives (copy what it needs). An
    /// exception it throws cannot cross libtorch's backward pass: it is caught there, the gradient flows on unchanged, and
    /// the exception is rethrown (wrapped in an <see cref="InvalidOperationException"/>) by the next call to
    /// <see cref="Tap"/>, <see cref="Scale"/> or <see cref="GradientMonitor.Capture(double?)"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException">A null tensor or callback.</exception>
    /// <exception cref="ArgumentException">A tensor already disposed, or not floating point.</exception>
    public static Tensor Tap(Tensor x, Action<Tensor> onGradient)
    {
        ArgumentNullException.ThrowIfNull(onGradient);
        return Apply(x, new Tap(onGradient, 1), nameof(x));
    }

    /// <summary>
    /// Returns <paramref name="x"/> (a view, no copy) such that the gradient flowing back through it is multiplied by
    /// <paramref name="factor"/>: −1 reverses it (the gradient reversal layer of domain-adversarial training, Ganin &amp;
    /// Lempitsky 2015), 0 stops it (what the forward value was computed from gets no gradient through here), 0.1 damps it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="factor"/> is NaN or infinite.</exception>
    public static Tensor Scale(Tensor x, double factor)
    {
        if (!double.IsFinite(factor)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "GradientTap.Scale needs a finite factor (−1 reverses the gradient, 0 stops it).");
        return Apply(x, new Tap(null, factor), nameof(x));
    }

    internal static Tensor Apply(Tensor x, Tap tap, string name)
    {
        TapFunction.ThrowIfCallbackFailed();
        ArgumentNullException.ThrowIfNull(x, name);
        if (x.IsInvalid) throw new ArgumentException("The tensor was disposed before it was tapped; tap it while it is alive, before backward().", name);
        if (!x.is_floating_point())
            throw new ArgumentException($"Only floating-point tensors have gradients; this one is {x.dtype}. Tap a float tensor (the output of a layer), not indices or masks.", name);
        if (!x.requires_grad || !torch.is_grad_enabled()) return x;   // no gradient will flow: a no-op
        return TapFunction.apply(x, tap);
    }
}
