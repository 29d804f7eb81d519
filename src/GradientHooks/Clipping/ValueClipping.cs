using TorchSharp;
using TorchSharp.Modules;

namespace GradientHooks.Clipping;

/// <summary>
/// Clip by value, as <c>torch.nn.utils.clip_grad_value_</c>: every gradient element is clamped to [−limit, limit].
/// Changes the gradient's direction; the classic remedy in Keras (<c>clipvalue</c>).
/// </summary>
public sealed class ValueClipping : IClippingPolicy
{
    internal ValueClipping(double limit) => Limit = limit;

    /// <summary>The clamp limit, &gt; 0.</summary>
    public double Limit { get; }

    /// <inheritdoc />
    public ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null)
    {
        GradientMath.ThrowIfEmpty(parameters, nameof(ValueClipping));
        var before = GradientMath.Norms(parameters, step);
        double normBefore = GradientMath.Total(before);
        bool exceeds = true;
        if (GradientMath.IsCurrent(parameters, step))
        {
            exceeds = false;
            foreach (var g in step!.Gradients) if (!(g.MaxAbs <= Limit)) exceeds = true;
        }
        if (!exceeds) return ClipResult.Unchanged(normBefore);

        using (var scope = torch.NewDisposeScope())
        using (var noGrad = torch.no_grad())
            foreach (var p in parameters) p.grad?.clamp_(-Limit, Limit);
        double normAfter = GradientMath.Total(GradientMath.PNorms(parameters, 2));
        bool clipped = !(normAfter == normBefore);
        return new ClipResult(normBefore, normAfter, clipped, false, clipped ? $"values clamped to ±{Limit:G4}" : null);
    }

    /// <inheritdoc />
    public override string ToString() => $"Clip.Value({Limit:G4})";
}
