// An ordinary TorchSharp training loop with GradientHooks added: the two marked lines are the only change.
// Task: classify points of three interleaved spirals (generated, no download), with a deliberately deep
// sigmoid network so the gradient picture is interesting. Try --relu for the healthy version.
using GradientHooks;
using GradientHooks.Clipping;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

bool relu = args.Contains("--relu");
int steps = 300;
torch.manual_seed(42);

var (x, y) = Spirals(points: 600, classes: 3);
Module<Tensor, Tensor> Act() => relu ? ReLU() : Sigmoid();
var model = Sequential(
    ("fc1", Linear(2, 64)), ("act1", Act()),
    ("fc2", Linear(64, 64)), ("act2", Act()),
    ("fc3", Linear(64, 64)), ("act3", Act()),
    ("fc4", Linear(64, 64)), ("act4", Act()),
    ("fc5", Linear(64, 64)), ("act5", Act()),
    ("out", Linear(64, 3)));

using var monitor = GradientMonitor.Attach(model);                                                   // added line 1
var optimizer = monitor.Guard(torch.optim.Adam(model.parameters(), 1e-3), Clip.GlobalNorm(1.0));   // added line 2

Console.WriteLine($"{(relu ? "ReLU" : "Sigmoid")} MLP, {monitor.Parameters.Count} trainable parameters, {monitor.HookedActivationCount} activation hooks");
Console.WriteLine($"{"step",5} {"loss",8} {"total",9}  per-layer gradient norm, first layer to last");
for (int step = 1; step <= steps; step++)
{
    using var scope = torch.NewDisposeScope();
    optimizer.zero_grad();
    var loss = functional.cross_entropy(model.call(x), y);
    loss.backward();
    monitor.Capture(loss);          // optional: records the loss in the same transfer as the statistics
    optimizer.step();

    if (step % 50 == 0 || step == 1)
    {
        var r = monitor.History[^1];
        var layers = string.Join(" ", r.Layers.Select(l => $"{l.Layer}={l.Gradient.Norm:0.0e+0}"));
        Console.WriteLine($"{step,5} {r.Loss,8:F4} {r.TotalNorm,9:0.000e+0}  {layers}");
    }
}

var last = monitor.History[^1];
double firstOverLast = last.Layers[0].Gradient.Rms / last.Layers[^1].Gradient.Rms;
Console.WriteLine($"first/last layer gradient RMS ratio: {firstOverLast:0.0e+0}; clipped steps: {optimizer.ClippedSteps}, skipped: {optimizer.SkippedSteps}");
foreach (var a in last.Activations)
    Console.WriteLine($"  {a.Module,-5} {a.Activation,-8} " + (a.Family == ActivationFamily.Rectifier
        ? $"dead units {a.DeadUnitFraction:P1}, inactive outputs {a.InactiveFraction:P1}"
        : $"saturated outputs {a.SaturatedFraction:P1}"));

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
