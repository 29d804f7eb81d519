using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Guard;

/// <summary>
/// Tells gradients that pile up from gradients that are zeroed some way the guard does not see (<c>model.zero_grad()</c>,
/// the inner optimizer's <c>zero_grad()</c>), on one small parameter only, and only on steps after which the guard saw
/// no <c>zero_grad()</c>: a loop that zeroes through the guard never pays for it.
/// <para>
/// It keeps a copy of that parameter's gradient g₍ₜ₋₁₎ and returns ρₜ = ‖gₜ‖ / ‖gₜ − gₜ₋₁‖. Never zeroed, gₜ = gₜ₋₁ + fₜ
/// (fₜ the step's fresh gradient), so ρₜ = ‖Σₛ≤ₜ fₛ‖ / ‖fₜ‖ grows like t for gradients that agree and like √t for noise;
/// zeroed, gₜ = fₜ and ρₜ = ‖fₜ‖ / ‖fₜ − fₜ₋₁‖ stays level, whatever the scale of the gradients does (an explosion
/// grows both). Two scalars, one transfer, per unzeroed step.
/// </para>
/// </summary>
internal sealed class AccumulationProbe : IDisposable
{
    private readonly Parameter? _parameter;
    private Tensor? _previous;

    /// <summary>Watches the smallest trainable parameter with at least two elements (a bias, usually).</summary>
    public AccumulationProbe(IReadOnlyList<Parameter> parameters)
    {
        _parameter = parameters.Where(p => p.numel() >= 2).MinBy(p => p.numel());
    }

    /// <summary>ρ for this step (null when there is no copy from the step before, or no gradient), then keeps this step's gradient.</summary>
    public double? Measure()
    {
        if (_parameter is null) return null;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var g = _parameter.grad;
        if (g is null) { Reset(); return null; }
        double? ratio = null;
        if (_previous is not null && _previous.shape.SequenceEqual(g.shape))
        {
            var norms = torch.stack(new[] { g.norm(), (g - _previous).norm() }).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
            if (norms[1] > 0 && double.IsFinite(norms[0]) && double.IsFinite(norms[1])) ratio = norms[0] / norms[1];
            _previous.copy_(g);
        }
        else
        {
            _previous?.Dispose();
            _previous = g.detach().clone().DetachFromDisposeScope();
        }
        return ratio;
    }

    /// <summary>Drops the copy: the loop zeroed its gradients.</summary>
    public void Reset()
    {
        _previous?.Dispose();
        _previous = null;
    }

    /// <summary>Writes the kept copy of the gradient (a checkpoint).</summary>
    public void Write(BinaryWriter writer) => Checkpoints.TensorIO.Write(writer, _previous);

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    public void Read(BinaryReader reader)
    {
        Reset();
        var device = _parameter?.device ?? torch.CPU;
        _previous = Checkpoints.TensorIO.Read(reader, device)?.DetachFromDisposeScope();
    }

    public void Dispose() => Reset();
}
