using System.Diagnostics;
using GradientHooks.Initialization;
using GradientHooks.MLNet;
using GradientHooks.MLNet.Data;
using GradientHooks.MLNet.Network;
using GradientHooks.MLNet.Training;
using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.Benchmarks.MLNet;

/// <summary>
/// One epoch of TorchMlp training on optdigits (3,823 × 64, 10 classes, hidden 64-64, batch 64, Adam) against a
/// hand-written TorchSharp loop doing the same work on the same tensors (same network and initialisation, randperm,
/// index_select batches, cross-entropy, Adam, a dispose scope per step, the loss read each step for the epoch mean),
/// interleaved round by round so that both see the same machine state. Prints medians and the ratio.
/// </summary>
internal static class EpochComparison
{
    /// <summary>Median ms per epoch of the hand-written loop and of TorchMlp, over interleaved rounds.</summary>
    public sealed record Result(string Source, int Rows, double HandMs, double TorchMlpMs, double MedianRoundRatio);

    public static void Run(int rounds, bool variants)
    {
        if (variants) Variants();
        var r = Measure(rounds);
        Console.WriteLine($"data: {r.Source}; {r.Rows} rows, {Math.Ceiling(r.Rows / 64.0)} steps per epoch; {rounds} interleaved rounds of {Epochs} epochs each");
        Console.WriteLine($"hand-written TorchSharp epoch : {r.HandMs:F1} ms (median)");
        Console.WriteLine($"TorchMlp epoch (monitored)    : {r.TorchMlpMs:F1} ms (median)");
        Console.WriteLine($"ratio                         : {r.TorchMlpMs / r.HandMs:F3}x (median of per-round ratios {r.MedianRoundRatio:F3}x)");
    }

    private const int Epochs = 5; // per fit, so that the per-fit set-up (model, monitor, export) is amortised as in a real fit

    private static (TrainingData Data, string Source) Load()
    {
        var ml = new MLContext(1);
        var view = BenchmarkData.OptDigits(ml);
        var source = view is null ? "generated 3,823 × 64 (optdigits not found in ../shared/data)" : "optdigits-train.csv";
        if (view is null)
        {
            var wide = BenchmarkData.Wide(ml, 3823);
            view = ml.Transforms.Conversion.MapValueToKey("Label", "Label").Fit(wide).Transform(wide);
        }
        return (TrainingData.Read(view, TorchMlpTask.MulticlassClassification, "Features", "Label", 64, 10), source);
    }

    public static Result Measure(int rounds)
    {
        var (data, source) = Load();
        var options = new TorchMlpOptions { HiddenLayers = new[] { 64, 64 }, Epochs = Epochs, BatchSize = 64, Seed = 1 }.Validated();
        var hand = new List<double>();
        var ours = new List<double>();
        for (var round = -3; round < rounds; round++)
        {
            var a = Time(() => HandWritten(data, options));
            var b = Time(() => TorchMlpTraining.Train(data, TorchMlpTask.MulticlassClassification, 10, options));
            if (round < 0) continue; // warm-up rounds
            hand.Add(a);
            ours.Add(b);
        }
        return new Result(source, data.Rows, Interleaved.Median(hand) / Epochs, Interleaved.Median(ours) / Epochs,
            Interleaved.Median(hand.Zip(ours, (h, o) => o / h).ToList()));
    }

    /// <summary>Epoch ratios for several monitor settings (20 rounds each), after the per-step medians.</summary>
    private static void Variants()
    {
        var (data, _) = Load();
        StepVariants();
        foreach (var (name, monitor) in new[]
                 {
                     ("trainer default (adaptive Every)", (MonitorOptions?)null),
                     ("every step", new MonitorOptions()),
                     ("no activations", new MonitorOptions { TrackActivations = false }),
                     ("no updates", new MonitorOptions { TrackUpdates = false }),
                     ("neither", new MonitorOptions { TrackActivations = false, TrackUpdates = false }),
                     ("every 10", new MonitorOptions { Every = 10 }),
                     ("every 5", new MonitorOptions { Every = 5 }),
                 })
        {
            var o = new TorchMlpOptions { HiddenLayers = new[] { 64, 64 }, Epochs = Epochs, BatchSize = 64, Seed = 1, Monitor = monitor }.Validated();
            var ratios = Enumerable.Range(0, 22)
                .Select(_ => Time(() => TorchMlpTraining.Train(data, TorchMlpTask.MulticlassClassification, 10, o)) / Time(() => HandWritten(data, o)))
                .Skip(2).ToList();
            Console.WriteLine($"{name}: epoch ratio {Interleaved.Median(ratios):F3}");
        }
    }

    /// <summary>Per-step medians (200 steps, interleaved) of the optdigits-sized step with each monitor setting.</summary>
    private static void StepVariants()
    {
        using var xx = torch.randn(64, 64);
        using var yy = torch.randint(0, 10, new long[] { 64 });
        var configs = new (string Name, MonitorOptions? Options)[]
        {
            ("bare", null), ("default", new MonitorOptions()), ("no updates", new MonitorOptions { TrackUpdates = false }),
            ("no activations", new MonitorOptions { TrackActivations = false }),
            ("neither", new MonitorOptions { TrackActivations = false, TrackUpdates = false }),
            ("every 10", new MonitorOptions { Every = 10 }), ("every 10 no NaN check", new MonitorOptions { Every = 10, CheckNonFiniteEveryStep = false }),
        };
        var runs = configs.Select(c =>
        {
            torch.manual_seed(1);
            var m = NetworkBuilder.Build(64, new[] { 64, 64 }, 10, Activation.ReLU, false, InitScheme.HeNormal);
            var mon = c.Options is null ? null : GradientMonitor.Attach(m, c.Options);
            optim.Optimizer opt = optim.Adam(m.parameters(), 1e-3);
            if (mon != null) opt = mon.Guard(opt, GradientHooks.Clipping.Clip.SkipNonFinite());
            return (c.Name, Step: (Action)(() =>
            {
                using var sc = torch.NewDisposeScope();
                opt.zero_grad();
                var l = nn.functional.cross_entropy(m.call(xx), yy);
                l.backward();
                if (mon != null) mon.Capture(l); else l.item<float>();
                opt.step();
            }), Times: new List<double>());
        }).ToList();
        for (var i = 0; i < 260; i++)
            foreach (var r in runs)
            {
                var t = Time(r.Step);
                if (i >= 60) r.Times.Add(t);
            }
        var bare = runs[0].Times.Order().ElementAt(100);
        foreach (var r in runs)
            Console.WriteLine($"  step {r.Name,-24} {r.Times.Order().ElementAt(100) * 1000,7:F0} µs  {r.Times.Order().ElementAt(100) / bare:F3}x");
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>What a user would write by hand for one epoch of the same training.</summary>
    private static double HandWritten(TrainingData data, TorchMlpOptions options)
    {
        torch.manual_seed(options.Seed!.Value);
        using var x = torch.tensor(data.Features, new long[] { data.Rows, data.FeatureCount });
        using var y = torch.tensor(data.Labels.Select(v => (long)v).ToArray());
        using var model = NetworkBuilder.Build(data.FeatureCount, options.HiddenLayers, 10, Activation.ReLU, false, InitScheme.HeNormal);
        using var optimizer = optim.Adam(model.parameters(), options.LearningRate);
        double lossSum = 0;
        model.train();
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        using (var epochScope = torch.NewDisposeScope())
        {
            var order = torch.randperm(data.Rows);
            for (var start = 0; start < data.Rows; start += options.BatchSize)
            {
                using var scope = torch.NewDisposeScope();
                var index = order.narrow(0, start, Math.Min(options.BatchSize, data.Rows - start));
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(x.index_select(0, index)), y.index_select(0, index));
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>();
            }
        }
        return lossSum;
    }
}
