using BenchmarkDotNet.Attributes;
using GradientHooks.Capture;
using TorchSharp;

namespace GradientHooks.Benchmarks;

/// <summary>
/// The statistics pass alone, on the reference MLP's warm gradients, side by side in one run: libtorch's
/// reductions (what the monitor did before: sum, BLAS dot, aminmax per parameter; now with count_nonzero), the
/// fused managed pass without unit layers, and the fused pass with every Linear's per-unit zero rows and dead-unit
/// streaks (what <c>Capture</c> runs). The difference of the last two is the cost of the dead-unit evidence; the
/// zero count rides inside the same SIMD loop. Also the every-step NaN/Inf check, both ways.
/// </summary>
[MemoryDiagnoser]
public class GradientStatisticsBenchmarks
{
    private ReferenceMlp _mlp = null!;
    private GradientReducer _libtorch = null!, _fused = null!, _fusedUnits = null!;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(2);
        _mlp = new ReferenceMlp();
        using (torch.NewDisposeScope()) _mlp.ForwardBackward();
        var names = _mlp.Model.named_parameters().Select(p => p.name).ToArray();
        var shapes = _mlp.Model.named_parameters().Select(p => p.parameter.shape).ToArray();
        _libtorch = new GradientReducer(_mlp.Parameters, Array.Empty<UnitLayer>(), 2, fused: false);
        _fused = new GradientReducer(_mlp.Parameters, Array.Empty<UnitLayer>(), 2);
        _fusedUnits = new GradientReducer(_mlp.Parameters, UnitLayer.Find(_mlp.Model, names, shapes), 2);
    }

    private static void Full(GradientReducer r, bool units)
    {
        using var scope = torch.NewDisposeScope();
        r.ReadGradients();
        r.Reduce(Array.Empty<torch.Tensor>());
        if (units) r.Units(finite: true, horizon: 20);
        r.Clear();
    }

    private static bool Check(GradientReducer r)
    {
        using var scope = torch.NewDisposeScope();
        r.ReadGradients();
        var bad = r.AnyNonFinite();
        r.Clear();
        return bad;
    }

    [Benchmark(Baseline = true)] public void LibtorchReductions() => Full(_libtorch, units: false);
    [Benchmark] public void FusedPass() => Full(_fused, units: false);
    [Benchmark] public void FusedPassWithDeadUnits() => Full(_fusedUnits, units: true);
    [Benchmark] public bool LibtorchNonFiniteCheck() => Check(_libtorch);
    [Benchmark] public bool FusedNonFiniteCheck() => Check(_fused);
}
