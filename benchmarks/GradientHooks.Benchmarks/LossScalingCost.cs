using System.Diagnostics;
using GradientHooks.Clipping;
using GradientHooks.Precision;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Benchmarks;

/// <summary>
/// What loss scaling costs on the CPU, on the reference MLP (784-512-512-512-10, batch 128, SGD, Clip.GlobalNorm(1)):
/// a guarded float32 step without a scaler, the same with a <see cref="LossScaler"/> (scale the loss, check for Inf in the
/// capture's pass, divide every gradient by the scale), and in float16 with <see cref="MasterWeights"/> without and with
/// the scaler (the float32 copies, the gradient copy into them, the write-back). Interleaved step by step in one process
/// (order rotating, medians of per-step times; activation hooks and update ratios off). CPU float16 matrix products are
/// far slower than float32 ones, so the float16 rows compare float16 with float16 only. Prints Markdown.
/// </summary>
public static class LossScalingCost
{
    private sealed class Variant
    {
        public required Action Step { get; init; }
    }

    private static Variant Make(ScalarType dtype, bool scale, bool master)
    {
        var m = new ReferenceMlp();
        m.Model.to(dtype);
        var x = m.X.to_type(dtype);
        var monitor = GradientMonitor.Attach(m.Model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
        var masters = master ? new MasterWeights(m.Model) : null;
        var scaler = scale ? new LossScaler() : null;
        var optimizer = monitor.Guard(optim.SGD(masters?.parameters() ?? m.Model.parameters(), 0.01), Clip.GlobalNorm(1), new GuardOptions { LossScaler = scaler, MasterWeights = masters });
        return new Variant
        {
            Step = () =>
            {
                optimizer.zero_grad();
                var loss = functional.cross_entropy(m.Model.call(x), m.Y);
                (scaler?.Scale(loss) ?? loss).backward();
                optimizer.step();
            },
        };
    }

    public static void Run(int rounds, int stepsPerBlock = 20)
    {
        torch.set_num_threads(2);
        Console.WriteLine("| precision | guarded step | + `LossScaler` | ratio |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var (name, dtype, master) in new[] { ("float32", ScalarType.Float32, false), ("float16 + `MasterWeights`", ScalarType.Float16, true) })
        {
            Console.Error.WriteLine($"{name}: {rounds} rounds...");
            var variants = new[] { Make(dtype, scale: false, master), Make(dtype, scale: true, master) };
            var med = Interleaved.Medians(variants.Select(v => v.Step).ToArray(), rounds, stepsPerBlock);
            Console.WriteLine($"| {name} | {med[0]:F2} ms | {med[1]:F2} ms | {med[1] / med[0]:F3}× |");
        }
        Console.WriteLine();
        Console.WriteLine($"Reference MLP 784-512-512-512-10, batch 128, SGD, Clip.GlobalNorm(1), CPU; medians of {rounds * stepsPerBlock} steps per variant, interleaved step by step; threads: {torch.get_num_threads()}.");
    }
}
