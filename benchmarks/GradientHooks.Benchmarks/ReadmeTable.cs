using System.Diagnostics;
using GradientHooks.Benchmarks.MLNet;
using GradientHooks.MLNet;
using GradientHooks.MLNet.Data;
using Microsoft.ML;
using TorchSharp;

namespace GradientHooks.Benchmarks;

/// <summary>
/// The README's cost table in one run: the reference MLP's step with each monitoring feature against its baseline
/// (interleaved rounds), one TorchMlp epoch against a hand-written TorchSharp loop (interleaved rounds), and the
/// rate at which the trainer reads 100,000 rows of 64 floats out of an IDataView. Prints Markdown.
/// </summary>
public static class ReadmeTable
{
    public static void Run(int rounds)
    {
        Console.Error.WriteLine($"reference MLP, {rounds} interleaved rounds of 20 steps per variant...");
        var rows = Interleaved.Measure(rounds, 20).ToDictionary(r => r.Name, r => r.Median);
        Console.Error.WriteLine("TorchMlp epochs against a hand-written loop...");
        var epoch = EpochComparison.Measure(Math.Max(9, rounds / 4));
        Console.Error.WriteLine("reading 100,000 rows...");
        var (lazyFirst, lazy, cached) = ReadRates();

        var bare = rows["bare step"];
        var lib = rows["libtorch clip_grad_norm_"];
        var capture = rows["Capture every step"];
        Console.WriteLine("| what is measured | workload | median | baseline (median) | ratio |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        void Row(string what, string workload, double value, string baselineName, double baseline, string unit = "ms/step") =>
            Console.WriteLine($"| {what} | {workload} | {value:F3} {unit} | {baselineName}: {baseline:F3} {unit} | {value / baseline:F3}× |");
        const string mlp = "MLP 784-512-512-512-10, batch 128, SGD";
        Row("`Capture` every step (norm, sum, max-abs, non-finite; one transfer)", mlp, capture, "bare step", bare);
        Row("`Capture`, `Every = 10` (NaN/Inf check every step)", mlp, rows["Capture, Every = 10"], "bare step", bare);
        Row("`Guard` + `Capture` + `Clip.GlobalNorm`", mlp, rows["Guard + Capture + Clip.GlobalNorm"], "libtorch `clip_grad_norm_`", lib);
        Row("`Capture` + activation tracking (3 ReLU)", mlp, rows["Capture + activation hooks"], "`Capture`", capture);
        Row("`Capture` + update ratios", mlp, rows["Capture + update ratios"], "`Capture`", capture);
        Row("`Capture` + `TensorBoardSink` (scalars every step)", mlp, rows["Capture + TensorBoardSink (scalars every step)"], "`Capture`", capture);
        Row("TorchMlp epoch (monitored, guarded, default settings)", $"{epoch.Source}, 64-64-10, batch 64, Adam", epoch.TorchMlpMs, "hand-written TorchSharp loop", epoch.HandMs, "ms/epoch");
        Console.WriteLine($"| TorchMlp reads an IDataView into its buffers | 100,000 rows × 64 floats, `Concatenate` + `NormalizeMinMax` view | {lazy / 1e6:F2} M rows/s (first pass {lazyFirst / 1e6:F2}) | from `Data.Cache()`: {cached / 1e6:F2} M rows/s | |");
        Console.WriteLine();
        Console.WriteLine($"Median of per-round TorchMlp/hand-written ratios: {epoch.MedianRoundRatio:F3}×; threads: {torch.get_num_threads()}.");
    }

    /// <summary>Rows per second: first pass of the lazy view, median of 5 later passes, median of 5 passes over the cache.</summary>
    private static (double LazyFirst, double Lazy, double Cached) ReadRates()
    {
        const int rows = 100_000;
        var ml = new MLContext(1);
        var view = BenchmarkData.Wide(ml, rows);
        double Rate(IDataView v)
        {
            var clock = Stopwatch.StartNew();
            TrainingData.Read(v, TorchMlpTask.Regression, "Features", "Label", 64);
            return rows / clock.Elapsed.TotalSeconds;
        }
        var first = Rate(view);
        var later = Enumerable.Range(0, 5).Select(_ => Rate(view)).ToList();
        var cache = ml.Data.Cache(view);
        Rate(cache); // fills the cache
        var cached = Enumerable.Range(0, 5).Select(_ => Rate(cache)).ToList();
        return (first, Interleaved.Median(later), Interleaved.Median(cached));
    }
}
