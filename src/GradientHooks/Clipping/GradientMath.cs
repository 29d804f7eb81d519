using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Clipping;

/// <summary>The shared mechanism of the policies: measuring gradient norms (one transfer) and scaling gradients in place.</summary>
internal static class GradientMath
{
    /// <summary>Per-parameter L2 norms of the gradients (0 for a null grad), reused from <paramref name="step"/> when it is current.</summary>
    public static double[] Norms(IReadOnlyList<Parameter> parameters, StepRecord? step)
    {
        if (IsCurrent(parameters, step))
        {
            var norms = new double[parameters.Count];
            for (int i = 0; i < norms.Length; i++) norms[i] = step!.Gradients[i].Norm;
            return norms;
        }
        return PNorms(parameters, 2);
    }

    /// <summary>Per-parameter p-norms (p may be +∞), measured on each gradient's device, one transfer.</summary>
    public static double[] PNorms(IReadOnlyList<Parameter> parameters, double p)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var scalars = new List<Tensor>(parameters.Count);
        var index = new int[parameters.Count];
        for (int i = 0; i < parameters.Count; i++)
        {
            var g = parameters[i].grad;
            if (g is null || g.numel() == 0) { index[i] = -1; continue; }
            index[i] = scalars.Count;
            scalars.Add(torch.linalg.vector_norm(g, p).to_type(ScalarType.Float64));
        }
        var values = scalars.Count == 0 ? Array.Empty<double>() : torch.stack(scalars).cpu().data<double>().ToArray();
        var norms = new double[parameters.Count];
        for (int i = 0; i < norms.Length; i++) norms[i] = index[i] < 0 ? 0 : values[index[i]];
        return norms;
    }

    /// <summary>Total norm from per-parameter p-norms: (Σ nᵢᵖ)^(1/p), or max nᵢ for p = ∞.</summary>
    public static double Total(double[] norms, double p = 2)
    {
        if (double.IsPositiveInfinity(p))
        {
            double m = 0;
            foreach (var n in norms) { if (double.IsNaN(n)) return double.NaN; m = Math.Max(m, n); }
            return m;
        }
        double s = 0;
        foreach (var n in norms) s += Math.Pow(n, p);
        return Math.Pow(s, 1 / p);
    }

    /// <summary>True when <paramref name="step"/> holds full statistics for exactly these parameters.</summary>
    public static bool IsCurrent(IReadOnlyList<Parameter> parameters, StepRecord? step) =>
        step is not null && step.IsFull && step.Gradients.Count == parameters.Count;

    /// <summary>gᵢ ← gᵢ · coefficients[i] in place for every parameter whose coefficient is below 1.</summary>
    public static void Scale(IReadOnlyList<Parameter> parameters, double[] coefficients)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (int i = 0; i < parameters.Count; i++)
        {
            if (coefficients[i] >= 1) continue;
            parameters[i].grad?.mul_(coefficients[i]);
        }
    }

    /// <summary>gᵢ ← gᵢ · coefficient in place for every parameter.</summary>
    public static void Scale(IReadOnlyList<Parameter> parameters, double coefficient)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (int i = 0; i < parameters.Count; i++) parameters[i].grad?.mul_(coefficient);
    }

    public static void ThrowIfEmpty(IReadOnlyList<Parameter> parameters, string policy)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0)
            throw new ArgumentException($"{policy} was applied to an empty parameter list; pass the model's trainable parameters.", nameof(parameters));
    }
}
