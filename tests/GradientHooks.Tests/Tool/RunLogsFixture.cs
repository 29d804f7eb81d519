using GradientHooks.Clipping;
using GradientHooks.Reporting;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Tool;

/// <summary>
/// Two real runs, trained once for all the tool tests, each with the run log its JsonLinesSink wrote and the diagnosis the
/// live monitor gave at the end (the reference the tool's output is checked against): a healthy 3-layer ReLU network on
/// Adam, and a 9-layer sigmoid network on SGD whose gradients vanish.
/// </summary>
public sealed class RunLogsFixture : IDisposable
{
    public RunLogsFixture()
    {
        Folder = Directory.CreateTempSubdirectory("tool-tests-").FullName;
        Healthy = Train(broken: false);
        Broken = Train(broken: true);
    }

    public string Folder { get; }

    public (string Log, string Diagnosis, string Json) Healthy { get; }

    public (string Log, string Diagnosis, string Json) Broken { get; }

    private (string, string, string) Train(bool broken)
    {
        torch.manual_seed(91);
        var model = broken ? TestModels.Deep(9, 32, () => Sigmoid(), input: 2, classes: 3) : TestModels.Deep(3, 32, () => ReLU(), input: 2, classes: 3);
        var x = torch.randn(256, 2);
        var y = (x[.., 0] > 0).to_type(ScalarType.Int64) + (x[.., 1] > 0).to_type(ScalarType.Int64);
        var log = Path.Combine(Folder, broken ? "broken.jsonl" : "healthy.jsonl");
        using var monitor = GradientMonitor.Attach(model);
        using (JsonLinesSink.Attach(monitor, log))
        {
            var optimizer = monitor.Guard(broken ? optim.SGD(model.parameters(), 0.05) : optim.Adam(model.parameters(), 1e-2), Clip.GlobalNorm(1.0));
            for (int i = 0; i < 80; i++)
            {
                using var scope = torch.NewDisposeScope();
                optimizer.zero_grad();
                var loss = functional.cross_entropy(model.call(x), y);
                loss.backward();
                monitor.Capture(loss);
                optimizer.step();
            }
        }
        var diagnosis = monitor.Diagnose();
        return (log, diagnosis.ToString(), diagnosis.ToJson());
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
