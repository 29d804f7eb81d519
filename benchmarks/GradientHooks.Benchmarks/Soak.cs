using System.Diagnostics;
using GradientHooks.Clipping;
using TorchSharp;

namespace GradientHooks.Benchmarks;

/// <summary>
/// Long run: N guarded, monitored steps of the reference MLP (activation hooks, update ratios and a TensorBoard sink on), printing the
/// process RSS, the live tensor count and the history length as it goes.
/// </summary>
public static class Soak
{
    public static int Run(int steps)
    {
        torch.set_num_threads(2);
        var mlp = new ReferenceMlp();
        using var monitor = GradientMonitor.Attach(mlp.Model, new MonitorOptions { HistoryLength = 1000 });
        mlp.Optimizer = monitor.Guard(mlp.Optimizer, Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1.0)));
        var logs = Path.Combine(Path.GetTempPath(), "gradienthooks-soak", Guid.NewGuid().ToString("N"));
        using var tensorboard = GradientHooks.Reporting.TensorBoardSink.Attach(monitor, logs);
        int warmup = Math.Min(1000, steps / 10);
        long rssAtWarmup = 0, tensorsAtWarmup = 0, maxRss = 0;
        var sw = Stopwatch.StartNew();
        Console.WriteLine($"{"step",7} {"RSS MiB",8} {"live tensors",12} {"history",7} {"ms/step",8}");
        for (int step = 1; step <= steps; step++)
        {
            using (var scope = torch.NewDisposeScope())
            {
                var loss = mlp.ForwardBackward();
                monitor.Capture(loss);
                mlp.Optimizer.step();
            }
            if (step == warmup) { rssAtWarmup = Rss(); tensorsAtWarmup = torch.Tensor.TotalCount; }
            if (step >= warmup) maxRss = Math.Max(maxRss, Rss());
            if (step % (steps / 10) == 0)
                Console.WriteLine($"{step,7} {Rss() / 1048576.0,8:F1} {torch.Tensor.TotalCount,12} {monitor.History.Count,7} {sw.Elapsed.TotalMilliseconds / step,8:F2}");
        }
        tensorboard.Flush();
        long rssEnd = Rss(), tensorsEnd = torch.Tensor.TotalCount;
        Console.WriteLine($"TensorBoard logs: {logs} ({Directory.GetFiles(logs).Sum(f => new FileInfo(f).Length) / 1048576.0:F1} MiB)");
        double growth = (rssEnd - rssAtWarmup) / (double)rssAtWarmup;
        Console.WriteLine($"after warm-up ({warmup} steps): RSS {rssAtWarmup / 1048576.0:F1} MiB -> {rssEnd / 1048576.0:F1} MiB ({growth:+0.0%;-0.0%}), max {maxRss / 1048576.0:F1} MiB; live tensors {tensorsAtWarmup} -> {tensorsEnd}");
        return Math.Abs(growth) <= 0.10 && tensorsEnd == tensorsAtWarmup ? 0 : 1;
    }

    private static long Rss()
    {
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64;
    }
}
