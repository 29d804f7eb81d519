using System.Diagnostics;
using GradientHooks.Clipping;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Benchmarks;

/// <summary>
/// What the gradient noise scale costs on the CPU (<see cref="MonitorOptions.TrackNoiseScale"/>): the reference MLP
/// (784-512-512-512-10, SGD, Clip.GlobalNorm(1)), each step's batch of 128 in 4 micro-batches of 32 (each loss divided by
/// 4), guarded and captured; without the noise scale, and with it (<c>CaptureMicroBatch</c> after each backward: one read
/// of every gradient, its float32 copy, one transfer at the capture). Interleaved step by step in one process (order
/// rotating, medians of per-step times; activation hooks and update ratios off). Prints Markdown.
/// </summary>
public static class NoiseScaleCost
{
    private static Action Make(bool noise)
    {
        var m = new ReferenceMlp();
        var monitor = GradientMonitor.Attach(m.Model, new MonitorOptions { TrackActivations = false, TrackUpdates = false, TrackNoiseScale = noise });
        var optimizer = monitor.Guard(optim.SGD(m.Model.parameters(), 0.01), Clip.GlobalNorm(1));
        long rows = m.X.shape[0], micro = rows / 4;
        return () =>
        {
            optimizer.zero_grad();
            for (long start = 0; start < rows; start += micro)
            {
                (functional.cross_entropy(m.Model.call(m.X.narrow(0, start, micro)), m.Y.narrow(0, start, micro)) / 4).backward();
                if (noise) monitor.CaptureMicroBatch(micro);
            }
            optimizer.step();
        };
    }

    public static void Run(int rounds, int stepsPerBlock = 20)
    {
        torch.set_num_threads(2);
        var variants = new[] { Make(noise: false), Make(noise: true) };
        var med = Interleaved.Medians(variants, rounds, stepsPerBlock);
        Console.WriteLine("| step of 4 micro-batches | median | ratio |");
        Console.WriteLine("|---|---:|---:|");
        Console.WriteLine($"| guarded, accumulated | {med[0]:F2} ms | 1 |");
        Console.WriteLine($"| + `TrackNoiseScale` (`CaptureMicroBatch` × 4) | {med[1]:F2} ms | {med[1] / med[0]:F3}× |");
        Console.WriteLine();
        Console.WriteLine($"Reference MLP 784-512-512-512-10, batch 128 as 4 × 32, SGD, Clip.GlobalNorm(1), CPU; medians of {rounds * stepsPerBlock} steps per variant, interleaved step by step; threads: {torch.get_num_threads()}; {DateTime.UtcNow:yyyy-MM-dd}.");
    }
}
