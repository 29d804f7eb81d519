// An ordinary TorchSharp training loop with GradientHooks added: the two marked lines in Train are the only change.
// Task: classify points of three interleaved spirals (generated, no download). First a deep sigmoid network, whose
// gradients vanish; then the same network after the remedies the diagnosis names (ReLU, He init, BatchNorm). Writes
// loss.png and gradient-flow.png (both runs), and each run's HTML report and run log, under --out.
//   dotnet run -c Release --project samples/TorchSharpLoop [-- --steps 200 --out torchsharp-loop-output]
using System.CommandLine;
using GradientHooks;
using GradientHooks.Clipping;
using GradientHooks.Initialization;
using GradientHooks.Layers;
using GradientHooks.Reporting;
using GradientHooks.Samples;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

var stepsOption = new Option<int>("--steps") { Description = "Training steps per run (at least 20).", DefaultValueFactory = _ => 200 };
var outOption = new Option<DirectoryInfo>("--out") { Description = "Folder for loss.png, gradient-flow.png and each run's report (.html) and run log (.jsonl).", DefaultValueFactory = _ => new DirectoryInfo("torchsharp-loop-output") };
var root = new RootCommand("A deep sigmoid MLP trained with the two GradientHooks lines, its diagnosis, then the remedies it names.") { stepsOption, outOption };
root.SetAction(parse =>
{
    int steps = parse.GetValue(stepsOption) is >= 20 and var s ? s : throw new SampleException($"--steps must be at least 20, got {parse.GetValue(stepsOption)}.");
    var output = SampleCommandLine.OutputFolder(parse.GetValue(outOption)!, "--out");
    return Run(steps, output);
});
return SampleCommandLine.Invoke(root, args);

static int Run(int steps, DirectoryInfo output)
{
    torch.manual_seed(42);
    var (x, y) = Spirals(points: 300, classes: 3);

    var layers = new List<(string, Module<Tensor, Tensor>)>();
    for (int i = 1; i <= 9; i++)
    {
        layers.Add(($"fc{i}", Linear(i == 1 ? 2 : 64, 64)));
        layers.Add(($"act{i}", Sigmoid()));
    }
    layers.Add(("out", Linear(64, 3)));
    var model = Sequential(layers);

    Console.WriteLine("== 1. A 10-layer sigmoid MLP, default initialization ==");
    var before = Train(model, x, y, steps, Path.Combine(output.FullName, "sigmoid"));

    Console.WriteLine("== 2. The remedies: ReLU, He initialization, BatchNorm ==");
    var repaired = Normalization.InsertBatchNorm(ActivationSwap.Replace(model, Activation.Sigmoid, Activation.ReLU));
    var init = Init.Apply(repaired, InitScheme.HeNormal);
    Console.WriteLine($"Init.Apply: {init.Initialized.Count(p => p.Scheme != null)} weights re-drawn (He normal, gain of the activation that follows), {init.Initialized.Count(p => p.Scheme == null)} biases zeroed, {init.Skipped.Count} modules skipped");
    var after = Train(repaired, x, y, steps, Path.Combine(output.FullName, "repaired"));

    var runs = new Dictionary<string, IReadOnlyList<StepRecord>> { ["sigmoid, default init"] = before, ["ReLU, He, BatchNorm"] = after };
    var charts = new[]
    {
        GradientCharts.CompareRuns(runs, ChartMetric.Loss, Path.Combine(output.FullName, "loss.png")),
        GradientCharts.GradientFlow(runs, Path.Combine(output.FullName, "gradient-flow.png"), lastSteps: 50),
    };
    Console.WriteLine($"Charts in {output.FullName}: {string.Join(", ", charts.Select(Path.GetFileName))}; a report and a run log per run: sigmoid.html, repaired.html, sigmoid.jsonl, repaired.jsonl (gradienthooks diagnose sigmoid.jsonl)");
    return 0;
}

// Trains net; writes the run log (stem.jsonl, for gradienthooks diagnose) and the HTML report (stem.html).
static IReadOnlyList<StepRecord> Train(Sequential net, Tensor x, Tensor y, int steps, string stem)
{
    using var monitor = GradientMonitor.Attach(net);                                                           // added line 1
    var optimizer = monitor.Guard(torch.optim.SGD(net.parameters(), 0.05, momentum: 0.9), Clip.GlobalNorm(5.0)); // added line 2
    using var runLog = JsonLinesSink.Attach(monitor, stem + ".jsonl");                                          // optional: the run log

    Console.WriteLine($"{"step",5} {"loss",8} {"total",9}  gradient norm per layer, first to last");
    for (int step = 1; step <= steps; step++)
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        var loss = functional.cross_entropy(net.call(x), y);
        loss.backward();
        monitor.Capture(loss);          // optional: records the loss in the same transfer as the statistics
        optimizer.step();

        if (step % (steps / 4) == 0 || step == 1)
        {
            var r = monitor.History[^1];
            var perLayer = string.Join(" ", r.Layers.Where(l => !l.Layer.EndsWith("_bn")).Select(l => $"{l.Layer}={l.Gradient.Norm:0.0e+0}"));
            Console.WriteLine($"{step,5} {r.Loss,8:F4} {r.TotalNorm,9:0.00e+0}  {perLayer}");
        }
    }
    Console.WriteLine();
    Console.WriteLine(monitor.Diagnose());     // what is wrong, the evidence, and the call that fixes it
    HtmlReport.Write(monitor, stem + ".html"); // the same, with charts, in one page
    return monitor.History.ToList();
}

static (Tensor X, Tensor Y) Spirals(int points, int classes)
{
    var xs = new float[points * classes * 2];
    var ys = new long[points * classes];
    var random = new Random(7);
    for (int c = 0; c < classes; c++)
        for (int i = 0; i < points; i++)
        {
            double r = (double)i / points, t = c * 2 * Math.PI / classes + 4 * r + random.NextDouble() * 0.2;
            int k = c * points + i;
            xs[2 * k] = (float)(r * Math.Sin(t));
            xs[2 * k + 1] = (float)(r * Math.Cos(t));
            ys[k] = c;
        }
    return (torch.tensor(xs, new long[] { points * classes, 2 }), torch.tensor(ys));
}
