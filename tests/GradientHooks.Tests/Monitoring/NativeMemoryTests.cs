using GradientHooks.Clipping;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Monitoring;

public class NativeMemoryTests
{
    [Fact]
    public void Monitored_guarded_steps_leave_the_live_tensor_count_constant_and_history_bounded()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { HistoryLength = 20 });
        var optimizer = monitor.Guard(torch.optim.Adam(model.parameters(), 1e-3), Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1.0), Clip.Adaptive(), Clip.Unitwise(), Clip.ZScore()));
        void Step() => TestModels.TrainStep(model, monitor, optimizer, x, y);
        // TotalCount is process-wide: let the finalizers of earlier tests' unreachable tensors run before the first
        // reading, and take the second one without collecting, so a tensor left to the GC by a step counts as a leak.
        static long Live()
        {
            // Finalizing an object can make more objects unreachable (a module's tensors): repeat until it settles.
            long count = -1;
            for (int i = 0; i < 10 && count != torch.Tensor.TotalCount; i++)
            {
                count = torch.Tensor.TotalCount;
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            return torch.Tensor.TotalCount;
        }
        for (int i = 0; i < 30; i++) Step();
        long live = Live();
        for (int i = 0; i < 200; i++) Step();
        Assert.Equal(live, torch.Tensor.TotalCount);
        Assert.Equal(20, monitor.History.Count);
        Assert.Equal(230, monitor.History[^1].Step);
        monitor.Diagnose();
        Assert.Equal(live, torch.Tensor.TotalCount);
    }
}
