using TorchSharp.Modules;

namespace GradientHooks.Clipping;

/// <summary>
/// Applies policies in order. The monitor's record is passed on until a policy changes the gradients, after which
/// later policies measure for themselves. The chain stops at the first policy that skips the step. The result
/// has the first policy's norm before, the last one's norm after, and every reason joined.
/// </summary>
public sealed class ChainedClipping : IClippingPolicy
{
    internal ChainedClipping(IReadOnlyList<IClippingPolicy> policies) => Policies = policies;

    /// <summary>The policies, in the order they are applied.</summary>
    public IReadOnlyList<IClippingPolicy> Policies { get; }

    /// <inheritdoc />
    public ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null)
    {
        GradientMath.ThrowIfEmpty(parameters, nameof(ChainedClipping));
        ClipResult? first = null, last = null;
        double? threshold = null;
        bool clipped = false;
        var reasons = new List<string>();
        foreach (var policy in Policies)
        {
            var r = policy.Apply(parameters, step);
            first ??= r;
            last = r;
            threshold = r.Threshold ?? threshold;
            if (r.Reason != null) reasons.Add(r.Reason);
            if (r.Clipped) { clipped = true; step = null; }
            if (r.SkipStep) break;
        }
        return new ClipResult(first!.NormBefore, last!.NormAfter, clipped, last.SkipStep, reasons.Count == 0 ? null : string.Join("; ", reasons)) { Threshold = threshold };
    }

    /// <inheritdoc />
    public override string ToString() => "Clip.Chain(" + string.Join(", ", Policies) + ")";

    /// <inheritdoc />
    public bool IsStateful => Policies.Any(p => p.IsStateful);

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer)
    {
        foreach (var p in Policies) p.WriteState(writer);
    }

    /// <inheritdoc />
    public void ReadState(BinaryReader reader)
    {
        foreach (var p in Policies) p.ReadState(reader);
    }
}
