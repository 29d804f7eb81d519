using GradientHooks.Clipping;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Clipping;

public class GuardedOptimizerTests
{
    [Fact]
    public void On_light_steps_the_guard_trusts_the_every_step_check_and_a_NaN_still_skips()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { Every = 5, FullStepsAtStart = 0 });
        var optimizer = monitor.Guard(torch.optim.SGD(model.parameters(), 0.1), Clip.SkipNonFinite());

        // Step 1 is light: the loss comes back with the non-finite check (one transfer) and equals libtorch's value.
        optimizer.zero_grad();
        double expectedLoss;
        using (var scope = torch.NewDisposeScope())
        {
            var loss = torch.nn.functional.cross_entropy(model.call(x), y);
            loss.backward();
            expectedLoss = loss.item<float>();
            var record = monitor.Capture(loss);
            Assert.False(record.IsFull);
            Assert.True(record.CheckedFinite);
            Assert.Equal(expectedLoss, record.Loss!.Value, 6);
        }
        optimizer.step();
        Assert.False(optimizer.LastStep!.Skipped);
        Assert.True(double.IsNaN(optimizer.LastStep.Clipping!.NormBefore)); // not measured on a light step

        // Step 2 is light too, but carries a NaN: the check upgrades it to a full capture and the guard skips it.
        var before = model.parameters().Select(TestModels.Values).ToArray();
        optimizer.zero_grad();
        TestModels.Backward(model, x, y);
        using (torch.no_grad()) model.parameters().First().grad![0, 0] = float.NaN;
        optimizer.step();
        Assert.True(optimizer.LastStep!.IsFull);
        Assert.True(optimizer.LastStep.Skipped);
        Assert.False(optimizer.LastStep.CheckedFinite);
        var after = model.parameters().Select(TestModels.Values).ToArray();
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);

        // Without the every-step check a light record is not vouched for: the guard finds the NaN itself and skips.
        var second = TestModels.Mlp(seed: 3);
        using var uncheckedMonitor = GradientMonitor.Attach(second, new MonitorOptions { Every = 5, CheckNonFiniteEveryStep = false, FullStepsAtStart = 0 });
        var guard = uncheckedMonitor.Guard(torch.optim.SGD(second.parameters(), 0.1), Clip.SkipNonFinite());
        var kept = second.parameters().Select(TestModels.Values).ToArray();
        guard.zero_grad();
        TestModels.Backward(second, x, y);
        using (torch.no_grad()) second.parameters().First().grad![0, 0] = float.NaN;
        guard.step();
        Assert.False(guard.LastStep!.IsFull);
        Assert.False(guard.LastStep.CheckedFinite);
        Assert.True(guard.LastStep.Skipped);
        Assert.Equal(kept[0], TestModels.Values(second.parameters().First()));
    }

    [Fact]
    public void A_skipped_step_leaves_weights_and_Adam_state_bit_identical()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        var optimizer = monitor.Guard(torch.optim.Adam(model.parameters(), 1e-2), Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1)));
        for (int i = 0; i < 3; i++) { optimizer.zero_grad(); TestModels.Backward(model, x, y); optimizer.step(); }

        var weightsBefore = model.parameters().Select(TestModels.Values).ToArray();
        var stateBefore = AdamState(optimizer);

        optimizer.zero_grad();
        TestModels.Backward(model, x, y);
        using (torch.no_grad()) model.parameters().Last().grad![0] = float.NaN;
        optimizer.step();

        Assert.Equal(1, optimizer.SkippedSteps);
        Assert.True(monitor.History.Last().Skipped);
        Assert.Contains("fc3.bias", monitor.History.Last().Clipping!.Reason);
        var weightsAfter = model.parameters().Select(TestModels.Values).ToArray();
        for (int i = 0; i < weightsBefore.Length; i++) Assert.Equal(weightsBefore[i], weightsAfter[i]);
        Assert.Equal(stateBefore, AdamState(optimizer));

        // Training continues normally afterwards.
        optimizer.zero_grad();
        TestModels.Backward(model, x, y);
        optimizer.step();
        Assert.False(monitor.History.Last().Skipped);
        Assert.NotEqual(weightsBefore[0], TestModels.Values(model.parameters().First()));
    }

    private static string AdamState(GuardedOptimizer optimizer)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            ((OptimizerHelper)optimizer.Inner).save_state_dict(writer);
        return Convert.ToBase64String(stream.ToArray());
    }

    [Fact]
    public void Step_reuses_the_capture_made_since_the_last_step()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        var optimizer = monitor.Guard(torch.optim.SGD(model.parameters(), 0.01), Clip.GlobalNorm(1e-3));
        var events = new List<StepRecord>();
        monitor.StepCaptured += events.Add;

        optimizer.zero_grad();
        TestModels.Backward(model, x, y);
        var captured = monitor.Capture(1.25);
        Assert.Empty(events);            // sealed by step(), once clipping is known
        optimizer.step();
        Assert.Same(captured, optimizer.LastStep);
        Assert.Same(captured, Assert.Single(events));
        Assert.True(captured.Clipping!.Clipped);
        Assert.Equal(captured.TotalNorm, captured.Clipping.NormBefore, 9);
        Assert.Equal(1e-3, captured.Clipping.NormAfter, 6);
        Assert.Equal(1, monitor.StepCount);

        optimizer.zero_grad();
        TestModels.Backward(model, x, y);
        optimizer.step();                // no explicit capture: the guard captures
        Assert.Equal(2, monitor.StepCount);
        Assert.Equal(2, events.Count);
        Assert.Equal(2, optimizer.ClippedSteps);
    }

    [Fact]
    public void Learning_rate_schedulers_drive_the_inner_optimizer()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        var optimizer = monitor.Guard(torch.optim.SGD(model.parameters(), 0.1));
        var scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size: 2, gamma: 0.5);
        for (int i = 0; i < 4; i++)
        {
            optimizer.zero_grad();
            TestModels.Backward(model, x, y);
            optimizer.step();
            scheduler.step();
        }
        Assert.Equal(0.025, optimizer.Inner.ParamGroups.Single().LearningRate, 12);
        Assert.Equal(0.025, optimizer.ParamGroups.Single().LearningRate, 12);
        Assert.Equal(model.parameters().Count(), optimizer.parameters().Count());
    }

    [Fact]
    public void Guarding_twice_or_guarding_a_guard_is_refused()
    {
        var model = TestModels.Mlp();
        using var monitor = GradientMonitor.Attach(model);
        var guard = monitor.Guard(torch.optim.SGD(model.parameters(), 0.1));
        Assert.Throws<InvalidOperationException>(() => monitor.Guard(torch.optim.SGD(model.parameters(), 0.1)));
        Assert.Throws<ArgumentException>(() => monitor.Guard(guard));
        guard.Dispose();
        using var second = monitor.Guard(torch.optim.SGD(model.parameters(), 0.1));
    }
}
