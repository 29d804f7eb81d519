using GradientHooks.Clipping;
using GradientHooks.Reporting;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Reliability;

/// <summary>
/// A shortened soak: guarded, monitored steps with activation tracking, update ratios, a TensorBoard sink writing
/// scalars every step and histograms every 10, and a chained clipping policy. The live tensor count must not move
/// and the history must stay bounded. (The 20,000-step run with RSS is the `soak` benchmark command.)
/// </summary>
public sealed class SoakTests : IDisposable
{
    private readonly TestOutputFolder _output = new("gh-soak-");
    private string _dir => _output.Path;

    public void Dispose() => _output.Dispose();

    [Fact]
    public void Monitored_steps_with_a_TensorBoard_sink_and_activation_tracking_leak_no_tensor()
    {
        var model = TestModels.Mlp(seed: 21);
        var (x, y) = TestModels.Batch(seed: 22);
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { HistoryLength = 50 });
        using var sink = TensorBoardSink.Attach(monitor, _dir, new TensorBoardOptions { HistogramEvery = 10 });
        var optimizer = monitor.Guard(optim.Adam(model.parameters(), 1e-3), Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1.0)));
        for (var i = 0; i < 40; i++) TestModels.TrainStep(model, monitor, optimizer, x, y);
        sink.Flush();
        var live = TestModels.LiveTensors();
        for (var i = 0; i < 400; i++) TestModels.TrainStep(model, monitor, optimizer, x, y);
        sink.Flush();
        Assert.Equal(live, torch.Tensor.TotalCount);
        Assert.Equal(50, monitor.History.Count);
        Assert.Equal(440, monitor.History[^1].Step);
        Assert.NotEmpty(monitor.History[^1].Activations);
        Assert.Empty(sink.Errors);
        Assert.True(new FileInfo(sink.ScalarFile).Length > 0);
    }
}
