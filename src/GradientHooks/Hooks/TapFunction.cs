using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.Hooks;

/// <summary>What a tap does with the gradient flowing back through it.</summary>
/// <param name="OnGradient">Called with ∂L/∂x during backward (may be null).</param>
/// <param name="Factor">The gradient passed on upstream is multiplied by this (1: unchanged).</param>
internal sealed record Tap(Action<Tensor>? OnGradient, double Factor);

/// <summary>
/// The custom autograd function behind <see cref="GradientTap"/>: forward is the identity (a view of its input, so no
/// copy), backward calls the tap's callback with the incoming gradient ∂L/∂x and passes it on, multiplied by the tap's
/// factor. TorchSharp keeps one instance per function type, so the tap rides in the autograd context.
/// </summary>
internal sealed class TapFunction : torch.autograd.SingleTensorFunction<TapFunction>
{
    private const string Key = "tap";

    public override string Name => nameof(GradientTap);

    public override Tensor forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        ctx.save_data(Key, vars[1]);
        return x.view_as(x);
    }

    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, Tensor grad)
    {
        var tap = (Tap)ctx.get_data(Key)!;
        // libtorch calls this from native code: an exception must not cross it (the process would end). It is kept and
        // rethrown by the next GradientTap call or monitor capture; the gradient flows on meanwhile.
        try { tap.OnGradient?.Invoke(grad); }
        catch (Exception e) { Failures.Enqueue(e); }
        var passed = tap.Factor == 1 ? grad : grad * tap.Factor;
        return new List<Tensor> { passed, null! };
    }

    /// <summary>Exceptions thrown by callbacks during backward, not yet rethrown.</summary>
    internal static readonly System.Collections.Concurrent.ConcurrentQueue<Exception> Failures = new();

    /// <summary>Rethrows the first callback exception caught since the last call (and forgets the others).</summary>
    internal static void ThrowIfCallbackFailed()
    {
        if (!Failures.TryDequeue(out var first)) return;
        while (Failures.TryDequeue(out _)) { }
        throw new InvalidOperationException($"A GradientTap callback threw during backward(): {first.Message} (it was caught there, because an exception cannot cross libtorch's backward pass; the gradient flowed on unchanged)", first);
    }
}
