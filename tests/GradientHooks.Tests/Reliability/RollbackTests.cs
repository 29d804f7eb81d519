using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Reliability;

/// <summary>
/// Rollback (<see cref="RollbackOptions"/>): a NaN planted in a weight is rolled back to the last snapshot, bit for bit
/// with Adam's state, and the run then goes on exactly as the clean run, to the same loss; K skipped steps in a
/// row roll back too, the learning rate is lowered on request, and every rollback is in the history and the diagnosis.
/// </summary>
public sealed class RollbackTests
{
    private const int Steps = 60;

    [Fact]
    public void A_NaN_weight_is_rolled_back_and_training_reaches_the_clean_runs_loss()
    {
        var clean = Run(faultAfterStep: null, out _, out var cleanWeightsAt30, out _);
        var faulted = Run(faultAfterStep: 30, out var optimizer, out var weightsAt30, out var rolledBackWeights);

        var rollback = Assert.Single(optimizer.Rollbacks);
        Assert.Equal(31, rollback.Step);
        Assert.Equal(30, rollback.RestoredStep);
        Assert.Equal("weights fc1.weight hold NaN/Inf", rollback.Reason);
        // The restored weights are those of step 30 bit for bit, which are the clean run's.
        for (int i = 0; i < weightsAt30.Length; i++)
        {
            Assert.Equal(weightsAt30[i], rolledBackWeights![i]);
            Assert.Equal(cleanWeightsAt30[i], rolledBackWeights[i]);
        }
        // Full-batch training is deterministic and Adam's moments and step count came back with the weights: after the one
        // wasted step, every applied step of the faulted run has the clean run's loss, to the end.
        for (int i = 0; i < Steps; i++) Assert.Equal(clean[i], faulted[i], 6);
        Assert.True(clean[^1] < 0.6 * clean[0], "the clean run should learn");
    }

    [Fact]
    public void Consecutive_skips_roll_back_lower_the_learning_rate_and_are_diagnosed()
    {
        var model = TestModels.Mlp(seed: 41);
        var (x, y) = TestModels.Batch(seed: 42);
        using var monitor = GradientMonitor.Attach(model);
        using var optimizer = monitor.Guard(optim.Adam(model.parameters(), 1e-2), Clip.SkipNonFinite(),
            new RollbackOptions { SnapshotEvery = 5, AfterSkippedSteps = 3, LearningRateFactor = 0.5 });
        Assert.Equal(0, optimizer.SnapshotStep);
        for (int i = 0; i < 12; i++) TestModels.TrainStep(model, monitor, optimizer, x, y);
        Assert.Equal(10, optimizer.SnapshotStep);
        var bad = x.clone();
        bad[0, 0] = float.NaN;
        for (int i = 0; i < 3; i++) TestModels.TrainStep(model, monitor, optimizer, bad, y);

        var rollback = Assert.Single(optimizer.Rollbacks);
        Assert.Equal(15, rollback.Step);
        Assert.Equal(10, rollback.RestoredStep);
        Assert.Equal("3 consecutive updates skipped", rollback.Reason);
        Assert.Equal(0.5e-2, optimizer.ParamGroups.Single().LearningRate, 12);
        Assert.Same(rollback, monitor.History[^1].Rollback);
        Assert.Contains("rolled back to step 10", monitor.History[^1].Clipping!.Reason);

        TestModels.TrainStep(model, monitor, optimizer, x, y);
        Assert.False(optimizer.LastStep!.Skipped);
        var finding = Assert.Single(monitor.Diagnose().Findings, f => f.Kind == FindingKind.TrainingRolledBack);
        Assert.Equal(Severity.Warning, finding.Severity);
        Assert.Contains("step 15: rolled back to step 10 (3 consecutive updates skipped), learning rate ×0.5", finding.Evidence);
        optimizer.Dispose();   // the monitor keeps the guard's rollbacks for its diagnosis
        Assert.Contains(monitor.Diagnose().Findings, f => f.Kind == FindingKind.TrainingRolledBack);
    }

    [Fact]
    public void Rollback_stops_after_MaxRollbacks_and_only_skips()
    {
        var model = TestModels.Mlp(seed: 43);
        var (x, y) = TestModels.Batch(seed: 44);
        using var monitor = GradientMonitor.Attach(model);
        using var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.05), Clip.SkipNonFinite(),
            new RollbackOptions { AfterSkippedSteps = 1, MaxRollbacks = 2 });
        var bad = x.clone();
        bad[0, 0] = float.NaN;
        for (int i = 0; i < 5; i++) TestModels.TrainStep(model, monitor, optimizer, bad, y);
        Assert.Equal(2, optimizer.Rollbacks.Count);
        Assert.Equal(5, optimizer.SkippedSteps);
    }

    [Fact]
    public void Bad_rollback_options_and_an_already_broken_model_are_refused_with_the_reason()
    {
        var model = TestModels.Mlp(seed: 45);
        using var monitor = GradientMonitor.Attach(model);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => monitor.Guard(optim.SGD(model.parameters(), 0.1), null, new RollbackOptions { LearningRateFactor = 2 }));
        Assert.Equal("LearningRateFactor", e.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => monitor.Guard(optim.SGD(model.parameters(), 0.1), null, new RollbackOptions { SnapshotEvery = 0 }));
        using (var noGrad = torch.no_grad()) model.parameters().First()[0, 0] = float.NaN;
        var broken = Assert.Throws<ArgumentException>(() => monitor.Guard(optim.SGD(model.parameters(), 0.1), null, new RollbackOptions()));
        Assert.Contains("no good state to roll back to", broken.Message);
    }

    /// <summary>
    /// Full-batch Adam with rollback (snapshot every 10 steps); with <paramref name="faultAfterStep"/>, a NaN is planted in
    /// fc1.weight right after that step. Returns the loss of every step that was applied.
    /// </summary>
    private static double[] Run(int? faultAfterStep, out GuardedOptimizer guard, out double[][] weightsAtFault, out double[][]? rolledBack)
    {
        var model = TestModels.Mlp(seed: 46);
        var (x, y) = TestModels.Batch(seed: 47, batch: 64);
        var monitor = GradientMonitor.Attach(model);
        guard = monitor.Guard(optim.Adam(model.parameters(), 5e-3), Clip.SkipNonFinite(), new RollbackOptions { SnapshotEvery = 10 });
        var losses = new List<double>();
        weightsAtFault = Array.Empty<double[]>();
        rolledBack = null;
        int fault = faultAfterStep ?? 30;
        for (int step = 1; losses.Count < Steps; step++)
        {
            TestModels.TrainStep(model, monitor, guard, x, y);
            var record = guard.LastStep!;
            if (!record.Skipped) losses.Add(record.Loss!.Value);
            if (record.Rollback != null) rolledBack = model.parameters().Select(TestModels.Values).ToArray();
            if (step == fault)
            {
                weightsAtFault = model.parameters().Select(TestModels.Values).ToArray();
                if (faultAfterStep != null) using (var noGrad = torch.no_grad()) model.parameters().First()[0, 0] = float.NaN;
            }
        }
        monitor.Dispose();
        return losses.ToArray();
    }
}
