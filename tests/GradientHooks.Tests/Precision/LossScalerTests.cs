using GradientHooks.Clipping;
using GradientHooks.Precision;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Precision;

/// <summary>
/// The loss scaler against GradScaler's rule (the update of PyTorch's <c>_amp_update_scale_</c>, written out here), the
/// guard's unscaling against an unscaled run, and bad input.
/// </summary>
public sealed class LossScalerTests
{
    /// <summary>GradScaler's update, written independently of LossScaler: back off on Inf, grow after <paramref name="interval"/> clean steps.</summary>
    private static (float Scale, int Tracker) Reference(float scale, int tracker, bool foundInf, double growth, double backoff, int interval)
    {
        if (foundInf) return ((float)(scale * backoff), 0);
        int successful = tracker + 1;
        if (successful == interval)
        {
            var grown = (float)(scale * growth);
            return (float.IsFinite(grown) ? grown : scale, 0);
        }
        return (scale, successful);
    }

    [Fact]
    public void The_scale_follows_GradScalers_rule_when_Inf_is_injected_at_known_steps_and_those_steps_are_skipped()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        var scaler = new LossScaler(initScale: 1024, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3);
        using var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.01), null, new GuardOptions { LossScaler = scaler });
        var injected = new HashSet<int> { 2, 3, 9 };
        float expected = 1024;
        int tracker = 0;
        for (int step = 1; step <= 14; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            scaler.Scale(loss).backward();
            if (injected.Contains(step))
                using (torch.no_grad()) model.named_parameters().First(p => p.name == "fc2.weight").parameter.grad![0, 0] = float.PositiveInfinity;
            var before = model.parameters().Select(p => p.detach().clone()).ToList();
            optimizer.step();
            var record = monitor.History[^1];

            Assert.Equal(expected, record.LossScale!.Value);                    // the scale this backward used
            Assert.Equal(injected.Contains(step), record.LossScaleOverflow);
            Assert.Equal(injected.Contains(step), record.Skipped);
            bool moved = model.parameters().Zip(before).Any(p => !p.First.eq(p.Second).all().item<bool>());
            Assert.Equal(!injected.Contains(step), moved);                       // an overflow step leaves the weights alone
            (expected, tracker) = Reference(expected, tracker, injected.Contains(step), 2, 0.5, 3);
            Assert.Equal(expected, scaler.CurrentScale);
            Assert.Equal(tracker, scaler.GrowthTracker);
        }
        Assert.Equal(3, scaler.Overflows);
        Assert.Equal(3, optimizer.SkippedSteps);
    }

    [Fact]
    public void Clipping_and_the_statistics_see_true_scale_gradients_and_the_update_is_the_unscaled_one()
    {
        var (x, y) = TestModels.Batch();
        StepRecord Run(LossScaler? scaler, out List<Tensor> weights, out List<Tensor> grads)
        {
            var model = TestModels.Mlp(seed: 5);
            using var monitor = GradientMonitor.Attach(model);
            using var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.1), Clip.GlobalNorm(0.05), new GuardOptions { LossScaler = scaler });
            using (var scope = torch.NewDisposeScope())
            {
                optimizer.zero_grad();
                var loss = functional.cross_entropy(model.call(x), y);
                (scaler?.Scale(loss) ?? loss).backward();
                monitor.Capture(loss);
                optimizer.step();
            }
            weights = model.parameters().Select(p => p.detach().clone()).ToList();
            grads = model.parameters().Select(p => p.grad!.detach().clone()).ToList();
            return monitor.History[^1];
        }
        var plain = Run(null, out var plainWeights, out var plainGrads);
        var scaled = Run(new LossScaler(initScale: 4096), out var scaledWeights, out var scaledGrads);

        Assert.True(plain.Clipping!.Clipped);                                  // the threshold binds: the test can tell
        Assert.Equal(plain.TotalNorm, scaled.TotalNorm, 4);
        Assert.Equal(plain.Clipping.NormBefore, scaled.Clipping!.NormBefore, 4);
        Assert.Equal(4096, scaled.LossScale);
        for (int i = 0; i < plainGrads.Count; i++)
        {
            Assert.True(plainGrads[i].allclose(scaledGrads[i], rtol: 1e-5, atol: 1e-8), $"gradient {i} differs");
            Assert.True(plainWeights[i].allclose(scaledWeights[i], rtol: 1e-5, atol: 1e-7), $"weight {i} differs");
        }
        // The statistics are those of the true gradient: libtorch's norm of a plain backward on the same start.
        var reference = TestModels.Mlp(seed: 5);
        functional.cross_entropy(reference.call(x), y).backward();
        double norm = torch.cat(reference.parameters().Select(p => p.grad!.reshape(-1)).ToArray()).norm().item<float>();
        Assert.Equal(norm, scaled.TotalNorm, 5);
    }

    [Theory]
    [InlineData(0.0, 2.0, 0.5, 2000, "initScale")]
    [InlineData(-1.0, 2.0, 0.5, 2000, "initScale")]
    [InlineData(double.NaN, 2.0, 0.5, 2000, "initScale")]
    [InlineData(double.PositiveInfinity, 2.0, 0.5, 2000, "initScale")]
    [InlineData(1e39, 2.0, 0.5, 2000, "initScale")]
    [InlineData(65536.0, 1.0, 0.5, 2000, "growthFactor")]
    [InlineData(65536.0, double.NaN, 0.5, 2000, "growthFactor")]
    [InlineData(65536.0, 2.0, 1.0, 2000, "backoffFactor")]
    [InlineData(65536.0, 2.0, 0.0, 2000, "backoffFactor")]
    [InlineData(65536.0, 2.0, 0.5, 0, "growthInterval")]
    public void A_bad_option_is_refused_naming_it_and_its_value(double initScale, double growth, double backoff, int interval, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LossScaler(initScale, growth, backoff, interval));
        Assert.Equal(name, e.ParamName);
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Scale_refuses_a_loss_that_is_not_a_floating_point_scalar_naming_its_shape_or_type()
    {
        var scaler = new LossScaler();
        var e = Assert.Throws<ArgumentException>(() => scaler.Scale(torch.ones(3, 2)));
        Assert.Equal("loss", e.ParamName);
        Assert.Contains("[3, 2]", e.Message);
        Assert.Contains("Int64", Assert.Throws<ArgumentException>(() => scaler.Scale(torch.tensor(3L))).Message);
        Assert.Equal(65536 * 2.5f, scaler.Scale(torch.tensor(2.5f)).item<float>());
    }

    [Fact]
    public void A_scaler_serves_one_guard_at_a_time()
    {
        var scaler = new LossScaler();
        var a = TestModels.Mlp(seed: 1);
        var b = TestModels.Mlp(seed: 2);
        using var ma = GradientMonitor.Attach(a);
        using var mb = GradientMonitor.Attach(b);
        var first = ma.Guard(optim.SGD(a.parameters(), 0.1), null, new GuardOptions { LossScaler = scaler });
        var e = Assert.Throws<ArgumentException>(() => mb.Guard(optim.SGD(b.parameters(), 0.1), null, new GuardOptions { LossScaler = scaler }));
        Assert.Contains("GuardOptions.LossScaler", e.Message);
        Assert.Contains("Sequential", e.Message);
        first.Dispose();
        using var second = mb.Guard(optim.SGD(b.parameters(), 0.1), null, new GuardOptions { LossScaler = scaler });   // free again
        Assert.Same(scaler, second.LossScaler);
    }

    [Fact]
    public void The_scalers_state_is_saved_and_loaded_with_the_optimizers()
    {
        var (x, y) = TestModels.Batch();
        var file = Path.Combine(Path.GetTempPath(), $"scaler-{Guid.NewGuid():N}.bin");
        var model = TestModels.Mlp();
        using var monitor = GradientMonitor.Attach(model);
        var scaler = new LossScaler(initScale: 256, growthInterval: 2);
        using (var optimizer = monitor.Guard(optim.Adam(model.parameters(), 1e-3), null, new GuardOptions { LossScaler = scaler }))
        {
            for (int i = 0; i < 5; i++)
            {
                using var scope = torch.NewDisposeScope();
                optimizer.zero_grad();
                scaler.Scale(functional.cross_entropy(model.call(x), y)).backward();
                optimizer.step();
            }
            optimizer.save_state_dict(file);
        }
        Assert.Equal(256 * 4, scaler.CurrentScale);   // grew twice (steps 2 and 4)
        Assert.Equal(1, scaler.GrowthTracker);

        var again = new LossScaler(initScale: 256, growthInterval: 2);
        using (var restored = monitor.Guard(optim.Adam(model.parameters(), 1e-3), null, new GuardOptions { LossScaler = again }))
        {
            restored.load_state_dict(file);
            Assert.Equal(scaler.StateDict(), again.StateDict());
        }
        // A scaler with other settings, and a guard without a scaler, are told what the file holds.
        using (var other = monitor.Guard(optim.Adam(model.parameters(), 1e-3), null, new GuardOptions { LossScaler = new LossScaler(growthInterval: 7) }))
            Assert.Contains("growthInterval: 2", Assert.Throws<ArgumentException>(() => other.load_state_dict(file)).Message);
        using (var none = monitor.Guard(optim.Adam(model.parameters(), 1e-3)))
            Assert.Contains(Path.GetFileName(file), Assert.Throws<InvalidDataException>(() => none.load_state_dict(file)).Message);
        File.Delete(file);
    }
}
