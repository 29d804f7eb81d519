using GradientHooks.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Clipping;

public class LibtorchAgreementTests
{
    private static (Sequential Ours, Sequential Reference) TwinsWithGradients(float gradientScale)
    {
        var (x, y) = TestModels.Batch(seed: 11);
        var ours = TestModels.Mlp(seed: 10);
        var reference = TestModels.Mlp(seed: 10);
        foreach (var m in new[] { ours, reference })
        {
            TestModels.Backward(m, x, y);
            using var noGrad = torch.no_grad();
            foreach (var p in m.parameters()) p.grad!.mul_(gradientScale);
        }
        return (ours, reference);
    }

    private static void AssertSameGradients(Sequential a, Sequential b)
    {
        foreach (var (pa, pb) in a.parameters().Zip(b.parameters()))
        {
            var ga = TestModels.GradValues(pa);
            var gb = TestModels.GradValues(pb);
            for (int i = 0; i < ga.Length; i++)
                Assert.True(Math.Abs(ga[i] - gb[i]) <= 1e-6 * Math.Max(Math.Abs(gb[i]), 1e-12) + 1e-12, $"element {i}: {ga[i]} vs {gb[i]}");
        }
    }

    [Theory]
    [InlineData(2.0, 0.05f)]
    [InlineData(2.0, 10f)]
    [InlineData(1.0, 10f)]
    [InlineData(3.0, 10f)]
    [InlineData(double.PositiveInfinity, 10f)]
    public void GlobalNorm_agrees_with_clip_grad_norm_(double normType, float scale)
    {
        var (ours, reference) = TwinsWithGradients(scale);
        using var monitor = GradientMonitor.Attach(ours);
        var record = monitor.Capture();
        var result = Clip.GlobalNorm(0.5, normType).Apply(ours.parameters().ToArray(), record);
        double libtorchNorm = torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.5, normType);

        Assert.True(Math.Abs(result.NormBefore - libtorchNorm) <= 1e-6 * libtorchNorm, $"norm before {result.NormBefore} vs {libtorchNorm}");
        Assert.Equal(libtorchNorm > 0.5, result.Clipped);
        AssertSameGradients(ours, reference);
    }

    [Fact]
    public void Value_agrees_with_clip_grad_value_()
    {
        var (ours, reference) = TwinsWithGradients(10f);
        using var monitor = GradientMonitor.Attach(ours);
        var result = Clip.Value(0.01).Apply(ours.parameters().ToArray(), monitor.Capture());
        torch.nn.utils.clip_grad_value_(reference.parameters(), 0.01);
        Assert.True(result.Clipped);
        AssertSameGradients(ours, reference);
        Assert.True(result.NormAfter < result.NormBefore);
    }
}
