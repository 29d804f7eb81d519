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
        for (int i = 0; i < 30; i++) Step();
        long live = TestModels.LiveTensors(); // TotalCount is process-wide: settled before the first reading
        for (int i = 0; i < 200; i++) Step();
        Assert.Equal(live, torch.Tensor.TotalCount);
        Assert.Equal(20, monitor.History.Count);
        Assert.Equal(230, monitor.History[^1].Step);
        monitor.Diagnose();
        Assert.Equal(live, torch.Tensor.TotalCount);
    }
}
