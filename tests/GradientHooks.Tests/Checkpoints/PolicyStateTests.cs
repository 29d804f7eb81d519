using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using GradientHooks.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Checkpoints;

/// <summary>
/// Every stateful clipping policy, saved after a random history of gradients and loaded into a new policy with the same
/// settings, then decides the rest of the history exactly as the original: same results, same gradients. Stateless
/// policies say so.
/// </summary>
public sealed class PolicyStateTests
{
    private static readonly Func<IClippingPolicy>[] Stateful =
    {
        () => Clip.Adaptive(percentile: 50, window: 16),
        () => Clip.ZScore(z: 2.5, alpha: 0.9, warmupSteps: 4),
        () => Clip.AdaGC(warmupSteps: 3),
        () => Clip.SkipSpikes(z: 3, window: 12, warmupSteps: 4),
        () => Clip.Chain(Clip.SkipNonFinite(), Clip.SkipSpikes(z: 3, window: 12, warmupSteps: 4), Clip.AdaGC(warmupSteps: 3)),
    };

    /// <summary>Gradient scales of a random run: mostly near 1, with spikes of up to 1e4 and the occasional tiny one.</summary>
    private static Arbitrary<(int Policy, int Split, double[] Scales)> Histories() =>
        (from policy in Gen.Choose(0, Stateful.Length - 1)
         from length in Gen.Choose(2, 40)
         from split in Gen.Choose(1, length - 1)
         from scales in Gen.ArrayOf(Gen.Frequency((8, Gen.Choose(50, 200).Select(v => v / 100.0)), (1, Gen.Choose(1, 10_000).Select(v => (double)v)), (1, Gen.Choose(1, 100).Select(v => v / 1e4))), length)
         select (policy, split, scales)).ToArbitrary();

    private static Parameter[] Parameters(int seed, double scale)
    {
        var g = new torch.Generator((ulong)seed);
        return Enumerable.Range(0, 3).Select(i =>
        {
            var p = new Parameter(torch.zeros(4, 5));
            p.grad = torch.randn(new long[] { 4, 5 }, generator: g) * scale;
            return p;
        }).ToArray();
    }

    [Property(MaxTest = 100)]
    public Property A_policy_loaded_from_its_saved_state_continues_exactly_as_the_original() => Prop.ForAll(Histories(), h =>
    {
        var (index, split, scales) = h;
        var original = Stateful[index]();
        Assert.True(original.IsStateful);
        for (int i = 0; i < split; i++) original.Apply(Parameters(i, scales[i]));
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) original.WriteState(w);
        buffer.Position = 0;
        var restored = Stateful[index]();
        using (var r = new BinaryReader(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) restored.ReadState(r);
        Assert.Equal(buffer.Length, buffer.Position);   // read exactly what was written
        for (int i = split; i < scales.Length; i++)
        {
            var a = Parameters(i, scales[i]);
            var b = Parameters(i, scales[i]);
            var ra = original.Apply(a);
            var rb = restored.Apply(b);
            Assert.Equal(ra, rb);
            for (int k = 0; k < a.Length; k++) Assert.True(a[k].grad!.eq(b[k].grad!).all().item<bool>());
        }
    });

    [Fact]
    public void Stateless_policies_say_so()
    {
        foreach (var p in new[] { Clip.GlobalNorm(1), Clip.Value(0.5), Clip.PerParameterNorm(1), Clip.Unitwise(), Clip.SkipNonFinite(), Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1)) })
            Assert.False(p.IsStateful, p.ToString());
    }
}
