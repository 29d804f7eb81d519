using TorchSharp.Modules;

namespace GradientHooks.Clipping;

/// <summary>
/// Clip each parameter's gradient on its own: g_p ← g_p · maxNorm / ‖g_p‖₂ when ‖g_p‖₂ &gt; maxNorm (Keras'
/// <c>clipnorm</c>). Unlike the global norm it changes the relative sizes of layers' updates.
/// </summary>
public sealed class PerParameterNormClipping : IClippingPolicy
{
    internal PerParameterNormClipping(double maxNorm) => MaxNorm = maxNorm;

    /// <summary>Largest allowed L2 norm of any single parameter's gradient, &gt; 0.</summary>
    public double MaxNorm { get; }

    /// <inheritdoc />
    public ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null)
    {
        GradientMath.ThrowIfEmpty(parameters, nameof(PerParameterNormClipping));
        var norms = GradientMath.Norms(parameters, step);
        double before = GradientMath.Total(norms);
        var coefficients = new double[norms.Length];
        var after = new double[norms.Length];
        int clipped = 0;
        for (int i = 0; i < norms.Length; i++)
        {
            bool clip = double.IsFinite(norms[i]) && norms[i] > MaxNorm;
            coefficients[i] = clip ? MaxNorm / (norms[i] + 1e-6) : 1;
            after[i] = norms[i] * coefficients[i];
            if (clip) clipped++;
        }
        if (clipped == 0) return ClipResult.Unchanged(before);
        GradientMath.Scale(parameters, coefficients);
        return new ClipResult(before, GradientMath.Total(after), true, false, $"{clipped} parameter gradient(s) above norm {MaxNorm:G4}");
    }

    /// <inheritdoc />
    public override string ToString() => $"Clip.PerParameterNorm({MaxNorm:G4})";
}
