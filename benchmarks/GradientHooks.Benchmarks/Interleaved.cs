using System.Diagnostics;
using GradientHooks.Clipping;
using TorchSharp;

namespace GradientHooks.Benchmarks;

/// <summary>
/// Round-robin timing: every round runs each variant for a block of steps, so slow drifts of a noisy machine hit
/// all variants alike; reports the median per-step time of each variant and its ratio to the bare step.
/// </summary>
public static class Interleaved
{
    /// <summary>One variant's result: median ms per step over the rounds.</summary>
    public sealed record Row(string Name, double Median);

    /// <summary>Prints the markdown table of <see cref="Measure"/>.</summary>
    public static void Run(int rounds, int stepsPerBlock)
    {
        var rows = Measure(rounds, stepsPerBlock);
        double baseline = rows[0].Median, lib0 = rows[1].Median;
        Console.WriteLine($"| variant | median ms/step | ratio to bare | ratio to clip_grad_norm_ |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var row in rows)
            Console.WriteLine($"| {row.Name} | {row.Median:F3} | {row.Median / baseline:F3} | {row.Median / lib0:F3} |");
    }

    /// <summary>Runs every variant round by round; rows in the order: bare, clip_grad_norm_, then the monitored ones.</summary>
    public static List<Row> Measure(int rounds, int stepsPerBlock)
    {
        torch.set_num_threads(2);
        var variants = new List<(string Name, Action Step)>();
        var bare = new ReferenceMlp();
        variants.Add(("bare step", () => { bare.ForwardBackward(); bare.Optimizer.step(); }));
        var lib = new ReferenceMlp();
        variants.Add(("libtorch clip_grad_norm_", () => { lib.ForwardBackward(); torch.nn.utils.clip_grad_norm_(lib.Parameters, 1e9); lib.Optimizer.step(); }));
        variants.Add(Monitored("Capture every step", new MonitorOptions { TrackActivations = false, TrackUpdates = false }));
        variants.Add(Monitored("Capture, Every = 10", new MonitorOptions { Every = 10, TrackActivations = false, TrackUpdates = false }));
        variants.Add(Monitored("Capture, Every = 10, no NaN check", new MonitorOptions { Every = 10, CheckNonFiniteEveryStep = false, TrackActivations = false, TrackUpdates = false }));
        variants.Add(Monitored("Capture + activation hooks", new MonitorOptions { TrackUpdates = false }));
        variants.Add(Monitored("Capture + update ratios", new MonitorOptions { TrackActivations = false }));
        var tb = new ReferenceMlp();
        var tbMonitor = GradientMonitor.Attach(tb.Model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
        var tbDir = Path.Combine(Path.GetTempPath(), "gradienthooks-bench-tb", Guid.NewGuid().ToString("N"));
        var tbSink = GradientHooks.Reporting.TensorBoardSink.Attach(tbMonitor, tbDir, new GradientHooks.Reporting.TensorBoardOptions { HistogramEvery = 0 });
        variants.Add(("Capture + TensorBoardSink (scalars every step)", () => { tb.ForwardBackward(); tbMonitor.Capture(); tb.Optimizer.step(); }));
        var g = new ReferenceMlp();
        var gm = GradientMonitor.Attach(g.Model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
        g.Optimizer = gm.Guard(g.Optimizer, Clip.GlobalNorm(1e9));
        variants.Add(("Guard + Capture + Clip.GlobalNorm", () => { g.ForwardBackward(); g.Optimizer.step(); }));

        var samples = variants.Select(_ => new List<double>()).ToArray();
        for (int r = -2; r < rounds; r++)
            for (int v = 0; v < variants.Count; v++)
            {
                var sw = Stopwatch.StartNew();
                for (int s = 0; s < stepsPerBlock; s++)
                {
                    using var scope = torch.NewDisposeScope();
                    variants[v].Step();
                }
                if (r >= 0) samples[v].Add(sw.Elapsed.TotalMilliseconds / stepsPerBlock);
            }
        tbSink.Dispose();
        Directory.Delete(tbDir, recursive: true);
        return variants.Select((v, i) => new Row(v.Name, Median(samples[i]))).ToList();
    }

    private static (string, Action) Monitored(string name, MonitorOptions options)
    {
        var mlp = new ReferenceMlp();
        var monitor = GradientMonitor.Attach(mlp.Model, options);
        return (name, () => { mlp.ForwardBackward(); monitor.Capture(); mlp.Optimizer.step(); });
    }

    internal static double Median(List<double> xs)
    {
        var s = xs.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>
    /// Median milliseconds per call of each variant, interleaved step by step in one process: <paramref name="rounds"/>
    /// blocks of <paramref name="stepsPerBlock"/> calls of each, the order rotating every call, after
    /// max(<paramref name="minWarmup"/>, rounds / 3) warm-up blocks that are not counted; each call in its own dispose scope.
    /// </summary>
    public static double[] Medians(IReadOnlyList<Action> variants, int rounds, int stepsPerBlock, int minWarmup = 3)
    {
        var samples = variants.Select(_ => new List<double>()).ToArray();
        int warmup = Math.Max(minWarmup, rounds / 3);
        for (int r = -warmup; r < rounds; r++)
            for (int s = 0; s < stepsPerBlock; s++)
                for (int k = 0; k < variants.Count; k++)
                {
                    int v = (k + s + r + variants.Count * warmup) % variants.Count;
                    var sw = System.Diagnostics.Stopwatch.StartNew();
                    using (var scope = TorchSharp.torch.NewDisposeScope()) variants[v]();
                    if (r >= 0) samples[v].Add(sw.Elapsed.TotalMilliseconds);
                }
        return samples.Select(Median).ToArray();
    }
}
