using BenchmarkDotNet.Attributes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Benchmarks;

/// <summary>
/// What the data-flow order and the input-scale check cost (<see cref="MonitorOptions.DetectLayerOrder"/> on against
/// off, side by side): attaching (the IL of forward() is read once), the first three steps (pre-hooks on every module,
/// the input's per-feature statistics, the order computed at the first capture), and ten later steps, after the
/// pre-hooks are gone, where the target is no cost at all.
/// </summary>
[MemoryDiagnoser]
public class FirstStepsBenchmarks
{
    [Params(false, true)]
    public bool DetectLayerOrder { get; set; }

    private ReferenceMlp _mlp = null!;
    private HeadFirstNet _custom = null!;
    private Tensor _x = null!, _y = null!;
    private GradientMonitor _warm = null!;
    private ReferenceMlp _warmMlp = null!;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(2);
        _mlp = new ReferenceMlp();
        _custom = new HeadFirstNet();
        _x = torch.randn(128, 784);
        _y = torch.randint(0, 10, new long[] { 128 });
        _warmMlp = new ReferenceMlp(seed: 2);
        _warm = GradientMonitor.Attach(_warmMlp.Model, Options());
        for (int i = 0; i < 5; i++) Step(_warmMlp.Model, _warm, _warmMlp.Optimizer, _warmMlp.X, _warmMlp.Y);   // past the first steps
    }

    [GlobalCleanup]
    public void Cleanup() => _warm.Dispose();

    private MonitorOptions Options() => new() { DetectLayerOrder = DetectLayerOrder, TrackActivations = false, TrackUpdates = false };

    private static void Step(Module<Tensor, Tensor> model, GradientMonitor monitor, optim.Optimizer optimizer, Tensor x, Tensor y)
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        functional.cross_entropy(model.call(x), y).backward();
        monitor.Capture();
        optimizer.step();
    }

    /// <summary>Attach and dispose on a custom module whose forward() is read (12-layer ModuleList body, head declared first).</summary>
    [Benchmark]
    public void AttachCustomModule()
    {
        using var monitor = GradientMonitor.Attach(_custom, Options());
    }

    /// <summary>Attach, the first three steps of the reference MLP (784-512-512-512-10, batch 128), dispose.</summary>
    [Benchmark]
    public void FirstThreeSteps()
    {
        using var monitor = GradientMonitor.Attach(_mlp.Model, Options());
        for (int i = 0; i < 3; i++) Step(_mlp.Model, monitor, _mlp.Optimizer, _mlp.X, _mlp.Y);
    }

    /// <summary>Ten steps of the reference MLP after the first five: the pre-hooks are gone.</summary>
    [Benchmark]
    public void TenLaterSteps()
    {
        for (int i = 0; i < 10; i++) Step(_warmMlp.Model, _warm, _warmMlp.Optimizer, _warmMlp.X, _warmMlp.Y);
    }

    /// <summary>The head-first functional-sigmoid model of the corpus, written out here (the benchmarks do not depend on the tests).</summary>
    private sealed class HeadFirstNet : Module<Tensor, Tensor>
    {
        private readonly Linear head = Linear(32, 10);
        private readonly ModuleList<Module<Tensor, Tensor>> body = new();

        public HeadFirstNet() : base(nameof(HeadFirstNet))
        {
            for (int i = 0; i < 12; i++) body.Add(Linear(i == 0 ? 784 : 32, 32));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            foreach (var layer in body) x = functional.sigmoid(layer.forward(x));
            return head.forward(x);
        }
    }
}
