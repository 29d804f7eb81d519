using System.Diagnostics;
using TorchSharp;

namespace GradientHooks.Benchmarks;

/// <summary>
/// What recording ∂L/∂h costs (<see cref="MonitorOptions.TrackOutputGradients"/>: a tap on the output of every
/// parameterised module), on the reference MLP (4 Linear) and on the 96-block net (193 Linear and LayerNorm outputs):
/// the bare step, <c>Capture</c>, <c>Capture</c> with the taps every step, <c>Capture</c> at <c>Every = 10</c> without and
/// with the taps,
/// interleaved step by step in one process (order rotating, medians of per-step times; activation hooks and update
/// ratios off). Prints Markdown.
/// </summary>
public static class OutputTapCost
{
    public static void Run(int rounds, int stepsPerBlock = 20)
    {
        torch.set_num_threads(2);
        Console.WriteLine("| workload | tapped outputs | bare step | `Capture` | `Capture` + output taps | `Capture`, `Every = 10` | output taps, `Every = 10` | cost per tap (every step) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var shapes = new (string Name, Func<(Action ForwardBackward, Func<torch.optim.Optimizer> Optimizer, TorchSharp.torch.nn.Module Model)> Make)[]
        {
            ("reference MLP 784-512-512-512-10, batch 128", () => { var m = new ReferenceMlp(); return (() => m.ForwardBackward(), () => m.Optimizer, m.Model); }),
            ("96 × 32 Linear+LayerNorm+ReLU, batch 64", () => { var n = new BlockNet(96, 32); return (n.ForwardBackward, () => n.Optimizer, n.Model); }),
        };
        foreach (var (name, make) in shapes)
        {
            Console.Error.WriteLine($"{name}: {rounds} rounds...");
            var variants = new List<Action>();
            int tapped = 0;
            { var (fb, opt, _) = make(); variants.Add(() => { fb(); opt().step(); }); }
            { var (fb, opt, model) = make(); var mon = GradientMonitor.Attach(model, new MonitorOptions { TrackActivations = false, TrackUpdates = false }); variants.Add(() => { fb(); mon.Capture(); opt().step(); }); }
            {
                var (fb, opt, model) = make();
                var mon = GradientMonitor.Attach(model, new MonitorOptions { TrackActivations = false, TrackUpdates = false, TrackOutputGradients = true });
                variants.Add(() => { fb(); tapped = mon.Capture().OutputGradients.Count; opt().step(); });
            }
            {
                var (fb, opt, model) = make();
                var mon = GradientMonitor.Attach(model, new MonitorOptions { TrackActivations = false, TrackUpdates = false, Every = 10 });
                variants.Add(() => { fb(); mon.Capture(); opt().step(); });
            }
            {
                var (fb, opt, model) = make();
                var mon = GradientMonitor.Attach(model, new MonitorOptions { TrackActivations = false, TrackUpdates = false, TrackOutputGradients = true, Every = 10 });
                variants.Add(() => { fb(); mon.Capture(); opt().step(); });
            }
            var m = Interleaved.Medians(variants, rounds, stepsPerBlock, minWarmup: 5);
            Console.WriteLine($"| {name} | {tapped} | {m[0]:F2} ms | {m[1] / m[0]:F3}× | {m[2] / m[0]:F3}× | {m[3] / m[0]:F3}× | {m[4] / m[0]:F3}× | {(m[2] - m[1]) * 1000 / Math.Max(1, tapped):F1} µs |");
        }
        Console.WriteLine();
        Console.WriteLine($"Ratios to the bare step; medians of {rounds * stepsPerBlock} steps per variant, interleaved step by step; threads: {torch.get_num_threads()}.");
    }
}
