using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using GradientHooks.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Clipping;

public class ClippingLawTests
{
    private static readonly Func<IClippingPolicy>[] Policies =
    {
        () => Clip.Value(0.05), () => Clip.GlobalNorm(0.5), () => Clip.GlobalNorm(0.5, 1), () => Clip.GlobalNorm(0.5, double.PositiveInfinity),
        () => Clip.PerParameterNorm(0.2), () => Clip.Adaptive(10, 5), () => Clip.Unitwise(0.01), () => Clip.ZScore(1, 0.9, 2),
        () => Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1), Clip.Unitwise(0.05)),
    };

    /// <summary>
    /// Whatever the gradients' scale and the policy, no parameter's gradient norm grows and the reported norm after
    /// is not above the norm before. Several steps per case so stateful policies are exercised past warm-up.
    /// </summary>
    [Property(MaxTest = 40)]
    public Property Clipping_never_raises_any_norm() => Prop.ForAll(
        Gen.Choose(0, Policies.Length - 1).ToArbitrary(),
        Gen.Choose(-4, 4).ToArbitrary(),
        Gen.Choose(1, 1000).ToArbitrary(),
        (policyIndex, exponent, seed) =>
        {
            var policy = Policies[policyIndex]();
            var parameters = RandomParameters(seed, Math.Pow(10, exponent));
            bool ok = true;
            for (int step = 0; step < 4; step++)
            {
                using (torch.no_grad()) foreach (var p in parameters) p.grad!.mul_(step == 3 ? 50 : 1);
                var before = parameters.Select(p => TestModels.L2(TestModels.GradValues(p))).ToArray();
                var r = policy.Apply(parameters);
                var after = parameters.Select(p => TestModels.L2(TestModels.GradValues(p))).ToArray();
                for (int i = 0; i < before.Length; i++) ok &= after[i] <= before[i] * (1 + 1e-6) + 1e-12;
                ok &= r.NormAfter <= r.NormBefore * (1 + 1e-6) + 1e-12;
            }
            return ok;
        });

    private static Parameter[] RandomParameters(int seed, double scale)
    {
        torch.manual_seed(seed);
        long[][] shapes = { new long[] { 6, 4 }, new long[] { 6 }, new long[] { 3, 6 } };
        return shapes.Select(s =>
        {
            var p = new Parameter(torch.randn(s));
            p.grad = torch.randn(s) * scale;
            return p;
        }).ToArray();
    }
}
