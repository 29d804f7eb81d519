using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Clipping;

/// <summary>
/// The non-finite guard: when any gradient element is NaN or ±Inf, every gradient is set to zero, the update is
/// skipped (weights and optimizer state stay bit-identical) and the reason names the parameters. Uses the
/// monitor's non-finite counts when the step was captured; otherwise one Σg per parameter and one transfer.
/// </summary>
public sealed class SkipNonFiniteGuard : IClippingPolicy
{
    internal SkipNonFiniteGuard() { }

    /// <summary>Steps skipped so far by this guard.</summary>
    public long SkippedSteps { get; private set; }

    /// <inheritdoc />
    public ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null)
    {
        GradientMath.ThrowIfEmpty(parameters, nameof(SkipNonFiniteGuard));
        List<string> names;
        double normBefore;
        if (step is { IsFull: false, CheckedFinite: true } && step.Parameters.Count == parameters.Count)
            return ClipResult.Unchanged(double.NaN); // the monitor's every-step check found no NaN/Inf; the norm is not measured on light steps
        if (GradientMath.IsCurrent(parameters, step))
        {
            if (!step!.HasNonFinite) return ClipResult.Unchanged(step.TotalNorm);
            names = step.NonFiniteParameters.Select(n => $"{n} ({step[n].NonFiniteCount} non-finite)").ToList();
            normBefore = step.TotalNorm;
        }
        else
        {
            var sums = Sums(parameters);
            names = new List<string>();
            for (int i = 0; i < sums.Length; i++) if (!double.IsFinite(sums[i])) names.Add(NameOf(parameters[i], i, step));
            if (names.Count == 0) return ClipResult.Unchanged(GradientMath.Total(GradientMath.Norms(parameters, step)));
            normBefore = double.NaN;
        }
        using (var scope = torch.NewDisposeScope())
        using (var noGrad = torch.no_grad())
            foreach (var p in parameters) p.grad?.zero_();
        SkippedSteps++;
        return new ClipResult(normBefore, 0, true, true, "non-finite gradient in " + string.Join(", ", names) + "; gradients zeroed, update skipped");
    }

    private static double[] Sums(IReadOnlyList<Parameter> parameters)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var sums = new Tensor[parameters.Count];
        for (int i = 0; i < sums.Length; i++)
        {
            var g = parameters[i].grad;
            sums[i] = g is null ? torch.zeros(1, ScalarType.Float64).squeeze() : g.sum().to_type(ScalarType.Float64).cpu();
        }
        return torch.stack(sums).data<double>().ToArray();
    }

    private static string NameOf(Parameter p, int index, StepRecord? step) =>
        step != null && index < step.Parameters.Count ? step.Parameters[index].Name : (string.IsNullOrEmpty(p.name) ? $"parameter #{index}" : p.name);

    /// <inheritdoc />
    public override string ToString() => "Clip.SkipNonFinite()";
}
