using TorchSharp.Modules;

namespace GradientHooks.Clipping;

/// <summary>
/// Clip by global norm, as <c>torch.nn.utils.clip_grad_norm_</c> (Pascanu, Mikolov &amp; Bengio 2013): with
/// N = (Σ_p ‖g_p‖_q^q)^(1/q) over all parameters (q = normType, ∞ allowed), every gradient is multiplied by
/// maxNorm / (N + 1e−6) when that factor is below 1. The direction of the whole update is kept.
/// For q = 2 the norm comes from the monitor's capture (no second pass over the gradients).
/// A non-finite N leaves the gradients unchanged (libtorch would turn them all into NaN) and says so in the
/// reason; chain <see cref="Clip.SkipNonFinite"/> first to skip such steps.
/// </summary>
public sealed class GlobalNormClipping : IClippingPolicy
{
    internal GlobalNormClipping(double maxNorm, double normType)
    {
        MaxNorm = maxNorm;
        NormType = normType;
    }

    /// <summary>Largest allowed total norm, &gt; 0.</summary>
    public double MaxNorm { get; }

    /// <summary>The q of the q-norm: a positive number or +∞. Default 2.</summary>
    public double NormType { get; }

    /// <inheritdoc />
    public ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null)
    {
        GradientMath.ThrowIfEmpty(parameters, nameof(GlobalNormClipping));
        var norms = NormType == 2 ? GradientMath.Norms(parameters, step) : GradientMath.PNorms(parameters, NormType);
        double total = GradientMath.Total(norms, NormType);
        if (!double.IsFinite(total))
            return new ClipResult(total, total, false, false, $"total norm is {total}; gradients left unchanged (chain Clip.SkipNonFinite() to skip such steps)");
        double coefficient = MaxNorm / (total + 1e-6);
        if (coefficient >= 1) return ClipResult.Unchanged(total) with { Threshold = MaxNorm };
        GradientMath.Scale(parameters, coefficient);
        return new ClipResult(total, total * coefficient, true, false, $"total norm {total:G4} > {MaxNorm:G4}") { Threshold = MaxNorm };
    }

    /// <inheritdoc />
    public override string ToString() => $"Clip.GlobalNorm({MaxNorm:G4}, {NormType:G4})";
}
