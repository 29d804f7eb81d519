using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Clipping;

/// <summary>
/// Adaptive Gradient Clipping, AGC (Brock, De, Smith, Simonyan 2021, "High-Performance Large-Scale Image Recognition
/// Without Normalization"): for every output unit i of a weight W (row i of a Linear weight, filter i of a Conv
/// weight; a vector or scalar parameter is one unit), with G_i its gradient,
/// if ‖G_i‖ / max(‖W_i‖, eps) &gt; λ then G_i ← G_i · λ · max(‖W_i‖, eps) / ‖G_i‖.
/// The update can never be larger than λ times the weight it changes. The paper leaves the final classifier layer
/// unclipped; pass only the parameters you want clipped if you follow it.
/// </summary>
public sealed class UnitwiseClipping : IClippingPolicy
{
    internal UnitwiseClipping(double lambda, double eps)
    {
        Lambda = lambda;
        Eps = eps;
    }

    /// <summary>λ, the largest allowed ratio of unit gradient norm to unit weight norm. Default 0.01.</summary>
    public double Lambda { get; }

    /// <summary>Floor on the weight norm, so zero-initialised units can still move. Default 1e−3.</summary>
    public double Eps { get; }

    /// <inheritdoc />
    public ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null)
    {
        GradientMath.ThrowIfEmpty(parameters, nameof(UnitwiseClipping));
        double before = GradientMath.Total(GradientMath.Norms(parameters, step));
        if (!double.IsFinite(before))
            return new ClipResult(before, before, false, false, $"total norm is {before}; gradients left unchanged");
        double[] values;
        using (var scope = torch.NewDisposeScope())
        using (var noGrad = torch.no_grad())
        {
            var triggered = new List<Tensor>();
            var afterSquares = new List<Tensor>();
            foreach (var p in parameters)
            {
                var g = p.grad;
                if (g is null || g.numel() == 0) continue;
                var w = p.detach();
                var wNorm = UnitNorms(w).clamp_min(Eps);
                var gNorm = UnitNorms(g);
                var maxNorm = wNorm * Lambda;
                var trigger = gNorm.gt(maxNorm);
                var coefficient = torch.where(trigger, maxNorm / gNorm.clamp_min(1e-6), torch.ones_like(gNorm));
                g.mul_(coefficient.reshape(UnitShape(g)));
                triggered.Add(trigger.sum().to_type(ScalarType.Float64));
                afterSquares.Add((gNorm * coefficient).square().sum().to_type(ScalarType.Float64));
            }
            values = torch.cat(new[] { torch.stack(triggered), torch.stack(afterSquares) }).cpu().data<double>().ToArray();
        }
        int n = values.Length / 2;
        double units = 0, after2 = 0;
        for (int i = 0; i < n; i++) { units += values[i]; after2 += values[n + i]; }
        if (units == 0) return ClipResult.Unchanged(before);
        return new ClipResult(before, Math.Sqrt(after2), true, false, $"{units:F0} unit(s) with ‖G‖/‖W‖ > {Lambda:G3}");
    }

    /// <summary>Norm of each output unit: over every dimension but the first; the whole tensor for 0-D and 1-D.</summary>
    private static Tensor UnitNorms(Tensor t) =>
        t.dim() <= 1 ? torch.linalg.vector_norm(t).reshape(1)
                     : torch.linalg.vector_norm(t, 2, Enumerable.Range(1, (int)t.dim() - 1).Select(d => (long)d).ToArray(), keepdim: false);

    private static long[] UnitShape(Tensor g)
    {
        if (g.dim() <= 1) return g.dim() == 0 ? Array.Empty<long>() : new long[] { 1 };
        var shape = new long[g.dim()];
        shape[0] = g.shape[0];
        for (int i = 1; i < shape.Length; i++) shape[i] = 1;
        return shape;
    }

    /// <inheritdoc />
    public override string ToString() => $"Clip.Unitwise({Lambda:G3}, {Eps:G3})";
}
