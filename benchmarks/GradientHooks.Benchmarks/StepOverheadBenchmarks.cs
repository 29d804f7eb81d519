using BenchmarkDotNet.Attributes;
using GradientHooks.Clipping;
using TorchSharp;

namespace GradientHooks.Benchmarks;

/// <summary>
/// One training step of the reference MLP with and without GradientHooks, side by side in one run. The baseline
/// is the bare step; ratios in the summary are each method's cost over it.
/// </summary>
[MemoryDiagnoser]
public class StepOverheadBenchmarks
{
    private ReferenceMlp _bare = null!, _libtorchClip = null!, _capture = null!, _every10 = null!, _activations = null!, _updates = null!, _guarded = null!;
    private GradientMonitor _captureMonitor = null!, _every10Monitor = null!, _activationMonitor = null!, _updateMonitor = null!, _guardMonitor = null!;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(2);
        _bare = new ReferenceMlp();
        _libtorchClip = new ReferenceMlp();
        _capture = new ReferenceMlp();
        _captureMonitor = GradientMonitor.Attach(_capture.Model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
        _every10 = new ReferenceMlp();
        _every10Monitor = GradientMonitor.Attach(_every10.Model, new MonitorOptions { Every = 10, TrackActivations = false, TrackUpdates = false });
        _activations = new ReferenceMlp();
        _activationMonitor = GradientMonitor.Attach(_activations.Model, new MonitorOptions { TrackActivations = true, TrackUpdates = false });
        _updates = new ReferenceMlp();
        _updateMonitor = GradientMonitor.Attach(_updates.Model, new MonitorOptions { TrackActivations = false, TrackUpdates = true });
        _guarded = new ReferenceMlp();
        _guardMonitor = GradientMonitor.Attach(_guarded.Model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
        _guarded.Optimizer = _guardMonitor.Guard(_guarded.Optimizer, Clip.GlobalNorm(1e9));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var m in new[] { _captureMonitor, _every10Monitor, _activationMonitor, _updateMonitor, _guardMonitor }) m.Dispose();
    }

    [Benchmark(Baseline = true, Description = "bare step")]
    public void Bare()
    {
        using var scope = torch.NewDisposeScope();
        _bare.ForwardBackward();
        _bare.Optimizer.step();
    }

    [Benchmark(Description = "libtorch clip_grad_norm_")]
    public void LibtorchClipGradNorm()
    {
        using var scope = torch.NewDisposeScope();
        _libtorchClip.ForwardBackward();
        torch.nn.utils.clip_grad_norm_(_libtorchClip.Parameters, 1e9);
        _libtorchClip.Optimizer.step();
    }

    [Benchmark(Description = "Capture every step")]
    public void Capture()
    {
        using var scope = torch.NewDisposeScope();
        _capture.ForwardBackward();
        _captureMonitor.Capture();
        _capture.Optimizer.step();
    }

    [Benchmark(Description = "Capture, Every = 10")]
    public void CaptureEvery10()
    {
        using var scope = torch.NewDisposeScope();
        _every10.ForwardBackward();
        _every10Monitor.Capture();
        _every10.Optimizer.step();
    }

    [Benchmark(Description = "Capture + activation hooks")]
    public void CaptureWithActivations()
    {
        using var scope = torch.NewDisposeScope();
        _activations.ForwardBackward();
        _activationMonitor.Capture();
        _activations.Optimizer.step();
    }

    [Benchmark(Description = "Capture + update ratios")]
    public void CaptureWithUpdates()
    {
        using var scope = torch.NewDisposeScope();
        _updates.ForwardBackward();
        _updateMonitor.Capture();
        _updates.Optimizer.step();
    }

    [Benchmark(Description = "Guard + Capture + Clip.GlobalNorm")]
    public void GuardedGlobalNorm()
    {
        using var scope = torch.NewDisposeScope();
        _guarded.ForwardBackward();
        _guarded.Optimizer.step();
    }
}
