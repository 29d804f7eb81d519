using System.Diagnostics;
using GradientHooks.Clipping;
using TorchSharp;

namespace GradientHooks.Benchmarks;

/// <summary>
/// How the cost of a capture grows with the number of parameter tensors: for the reference MLP and four
/// <see cref="BlockNet"/> shapes, the bare step, libtorch's <c>clip_grad_norm_</c>, <c>Capture</c> every step,
/// <c>Every = 10</c>, and Guard + Capture + <c>Clip.GlobalNorm</c>, interleaved step by step in one process (the
/// order rotating, medians of per-step times; activation hooks and update ratios off, as in the table).
/// Prints Markdown.
/// </summary>
public static class CaptureScaling
{
    private sealed record Workload(string Name, int Tensors, Action ForwardBackward, Func<torch.optim.Optimizer> Optimizer, Func<IEnumerable<TorchSharp.Modules.Parameter>> Parameters, TorchSharp.torch.nn.Module Model);

    public static void Run(int rounds, int stepsPerBlock = 20)
    {
        torch.set_num_threads(2);
        Console.WriteLine("| workload | parameter tensors | bare step | `clip_grad_norm_` | `Capture` | `Every = 10` | Guard + Capture + `Clip.GlobalNorm` vs `clip_grad_norm_` | capture cost per tensor |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var shapes = new (string Name, Func<(Action, Func<torch.optim.Optimizer>, Action<torch.optim.Optimizer>, TorchSharp.torch.nn.Module, TorchSharp.Modules.Parameter[])> Make)[]
        {
            ("reference MLP 784-512-512-512-10, batch 128", () => { var m = new ReferenceMlp(); return (() => m.ForwardBackward(), () => m.Optimizer, o => m.Optimizer = o, m.Model, m.Parameters); }),
            ("2 × 256 Linear+LayerNorm+ReLU, batch 64", () => Block(2, 256)),
            ("12 × 128", () => Block(12, 128)),
            ("48 × 64", () => Block(48, 64)),
            ("96 × 32", () => Block(96, 32)),
        };
        foreach (var (name, make) in shapes)
        {
            Console.Error.WriteLine($"{name}: {rounds} rounds...");
            var variants = new List<Action>();
            int tensors = 0;
            // bare
            { var (fb, opt, _, _, p) = make(); tensors = p.Length; variants.Add(() => { fb(); opt().step(); }); }
            // clip_grad_norm_
            { var (fb, opt, _, _, p) = make(); variants.Add(() => { fb(); torch.nn.utils.clip_grad_norm_(p, 1e9); opt().step(); }); }
            // Capture every step
            { var (fb, opt, _, model, _) = make(); var mon = GradientMonitor.Attach(model, new MonitorOptions { TrackActivations = false, TrackUpdates = false }); variants.Add(() => { fb(); mon.Capture(); opt().step(); }); }
            // Every = 10
            { var (fb, opt, _, model, _) = make(); var mon = GradientMonitor.Attach(model, new MonitorOptions { Every = 10, TrackActivations = false, TrackUpdates = false }); variants.Add(() => { fb(); mon.Capture(); opt().step(); }); }
            // Guard + Capture + GlobalNorm
            { var (fb, opt, set, model, _) = make(); var mon = GradientMonitor.Attach(model, new MonitorOptions { TrackActivations = false, TrackUpdates = false }); set(mon.Guard(opt(), Clip.GlobalNorm(1e9))); variants.Add(() => { fb(); opt().step(); }); }

            // Step-level interleaving with per-step times: a GC pause or a burst of host noise spoils a few steps of
            // every variant, not a whole block of one; medians over rounds × steps samples per variant.
            var samples = variants.Select(_ => new List<double>()).ToArray();
            int warmup = Math.Max(5, rounds / 3);   // discarded rounds: tiered JIT and allocator settle first
            for (int r = -warmup; r < rounds; r++)
                for (int s = 0; s < stepsPerBlock; s++)
                    for (int k = 0; k < variants.Count; k++)
                    {
                        int v = (k + s + r + variants.Count * warmup) % variants.Count;   // rotate: no variant always runs first
                        var sw = Stopwatch.StartNew();
                        using (var scope = torch.NewDisposeScope()) variants[v]();
                        if (r >= 0) samples[v].Add(sw.Elapsed.TotalMilliseconds);
                    }
            var m = samples.Select(Interleaved.Median).ToArray();
            double perTensorUs = (m[2] - m[0]) * 1000 / tensors;
            Console.WriteLine($"| {name} | {tensors} | {m[0]:F2} ms | {m[1] / m[0]:F3}× | {m[2] / m[0]:F3}× | {m[3] / m[0]:F3}× | {m[4] / m[1]:F3}× | {perTensorUs:F1} µs |");
        }
        Console.WriteLine();
        Console.WriteLine($"Ratios to the bare step (Guard: to `clip_grad_norm_`); medians of {rounds * stepsPerBlock} steps per variant, interleaved step by step; threads: {torch.get_num_threads()}; per-tensor cost = (Capture − bare) / tensors.");

        static (Action, Func<torch.optim.Optimizer>, Action<torch.optim.Optimizer>, TorchSharp.torch.nn.Module, TorchSharp.Modules.Parameter[]) Block(int blocks, int width)
        {
            var net = new BlockNet(blocks, width);
            return (net.ForwardBackward, () => net.Optimizer, o => net.Optimizer = o, net.Model, net.Parameters);
        }
    }
}
