using GradientHooks.Reporting;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Reporting;

/// <summary>The range test's chart and page, the noise-scale chart, and the noise scale through a run log and the HTML report.</summary>
public sealed class RangeTestAndNoiseChartTests : IDisposable
{
    private readonly TestOutputFolder _output = new("gradienthooks-sweep-");
    private string _dir => _output.Path;

    public void Dispose() => _output.Dispose();

    private static LearningRateSweep Sweep()
    {
        torch.manual_seed(5);
        var (x, y) = TestModels.Batch();
        var model = TestModels.Mlp();
        return LearningRateFinder.Run(model, optim.SGD(model.parameters(), 0.1), () => functional.cross_entropy(model.call(x), y), 1e-5, 100, 80);
    }

    [Fact]
    public void The_sweep_chart_is_a_PNG_and_its_page_carries_the_numbers_and_an_inline_chart()
    {
        var sweep = Sweep();
        var png = File.ReadAllBytes(GradientCharts.LearningRateSweep(sweep, Path.Combine(_dir, "lr.png")));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.True(png.Length > 5000);
        var html = File.ReadAllText(GradientCharts.LearningRateSweep(sweep, Path.Combine(_dir, "lr.html")));
        Assert.Contains("<svg", html);
        Assert.Contains($"<b>{LearningRateSweep.Format(sweep.Suggested!.Value)}</b>", html);
        Assert.Contains("suggested", html);
    }

    /// <summary>An MLP trained with 4 micro-batches a step and the noise scale on.</summary>
    private static void TrainWithMicroBatches(GradientMonitor monitor, Module<Tensor, Tensor> model, int steps)
    {
        var (x, y) = TestModels.Batch();
        var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.05));
        long rows = x.shape[0], micro = rows / 4;
        for (int s = 0; s < steps; s++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            Tensor? total = null;
            for (long start = 0; start < rows; start += micro)
            {
                var loss = functional.cross_entropy(model.call(x.narrow(0, start, micro)), y.narrow(0, start, micro)) / 4;
                loss.backward();
                monitor.CaptureMicroBatch(micro);
                total = total is null ? loss.detach() : total + loss.detach();
            }
            monitor.Capture(total!);
            optimizer.step();
        }
    }

    [Fact]
    public void The_noise_scale_survives_the_run_log_and_is_drawn_in_the_report_and_its_own_chart()
    {
        var model = TestModels.Mlp();
        var path = Path.Combine(_dir, "noise.jsonl");
        StepRecord last;
        using (var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackNoiseScale = true }))
        {
            using (JsonLinesSink.Attach(monitor, path)) TrainWithMicroBatches(monitor, model, 25);
            last = monitor.History[^1];
            var png = File.ReadAllBytes(GradientCharts.NoiseScale(monitor.History, Path.Combine(_dir, "noise.png")));
            Assert.True(png.Length > 5000);
            var report = File.ReadAllText(HtmlReport.Write(monitor, Path.Combine(_dir, "noise.html")));
            Assert.Contains("id=\"chart-noise\"", report);
        }
        var read = RunLog.Load(path).History[^1];
        Assert.Equal(last.Noise, read.Noise);
        Assert.Equal(last.LayerNoise, read.LayerNoise);
        Assert.Equal(last.BatchExamples, read.BatchExamples);
        Assert.Equal(4, read.MicroBatches);
        Assert.NotNull(last.Noise);
    }
}
