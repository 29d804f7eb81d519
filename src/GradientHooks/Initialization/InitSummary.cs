using System.Text;

namespace GradientHooks.Initialization;

/// <summary>One parameter that <see cref="Init"/> re-initialised.</summary>
/// <param name="Parameter">Full parameter name, e.g. <c>fc1.weight</c> or <c>lstm.weight_hh_l0</c>.</param>
/// <param name="Scheme">Scheme used (biases: none, they are set to a constant).</param>
/// <param name="Activation">Activation whose gain was used.</param>
/// <param name="Gain">The gain g.</param>
/// <param name="Std">The standard deviation the formula gives (0 for biases).</param>
/// <param name="FanIn">fan_in used (per gate block for recurrent weights).</param>
/// <param name="FanOut">fan_out used.</param>
public sealed record InitializedParameter(string Parameter, InitScheme? Scheme, Activation Activation, double Gain, double Std, long FanIn, long FanOut);

/// <summary>A module that has parameters but that <see cref="Init"/> left untouched, and why.</summary>
public sealed record SkippedModule(string Module, string Type, string Reason);

/// <summary>What <see cref="Init.Apply(TorchSharp.torch.nn.Module, InitScheme, Activation?, InitOptions?)"/> did: every parameter it initialised and every module it skipped.</summary>
public sealed record InitSummary(IReadOnlyList<InitializedParameter> Initialized, IReadOnlyList<SkippedModule> Skipped)
{
    /// <summary>A table: one line per parameter, then the skipped modules.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var p in Initialized)
            sb.AppendLine(p.Scheme is null
                ? $"{p.Parameter,-28} constant"
                : $"{p.Parameter,-28} {p.Scheme,-13} {p.Activation,-9} gain {p.Gain:0.####}  std {p.Std:0.#####}  fans {p.FanIn}/{p.FanOut}");
        foreach (var s in Skipped) sb.AppendLine($"skipped {s.Module} ({s.Type}): {s.Reason}");
        return sb.ToString();
    }
}
