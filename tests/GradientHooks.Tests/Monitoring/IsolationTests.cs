using GradientHooks.Clipping;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Monitoring;

public class IsolationTests
{
    [Fact]
    public void Two_monitors_on_two_models_in_two_threads_do_not_interfere()
    {
        // Build both models on this thread (seeding is global), then train each on its own thread.
        var a = TestModels.Mlp(seed: 61);
        var b = TestModels.Mlp(seed: 62, hidden: 24);
        var (x, y) = TestModels.Batch();
        var results = new StepRecord[2][];
        void Train(int which, TorchSharp.Modules.Sequential model)
        {
            using var monitor = GradientMonitor.Attach(model);
            var optimizer = monitor.Guard(torch.optim.SGD(model.parameters(), 0.05), Clip.GlobalNorm(1.0));
            for (int i = 0; i < 60; i++) TestModels.TrainStep(model, monitor, optimizer, x, y);
            results[which] = monitor.History.ToArray();
        }
        var ta = new Thread(() => Train(0, a));
        var tb = new Thread(() => Train(1, b));
        ta.Start(); tb.Start();
        ta.Join(); tb.Join();
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), results[0].Select(r => r.Step));
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), results[1].Select(r => r.Step));
        Assert.Equal(16 * 8, results[0][0]["fc1.weight"].Count);
        Assert.Equal(24 * 8, results[1][0]["fc1.weight"].Count);
        Assert.All(results.SelectMany(r => r), r => Assert.Equal(2, r.Activations.Count));
    }

    [Fact]
    public void An_exception_in_the_users_forward_leaves_the_monitor_working_and_removable()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        var monitor = GradientMonitor.Attach(model);
        Assert.ThrowsAny<Exception>(() => model.call(torch.randn(4, 3)));    // wrong input width: libtorch throws mid-forward
        TestModels.Backward(model, x, y);
        Assert.True(monitor.Capture().IsFull);
        monitor.Dispose();
        using var again = GradientMonitor.Attach(model);                    // every hook was removed
        Assert.Equal(2, again.HookedActivationCount);
    }
}
