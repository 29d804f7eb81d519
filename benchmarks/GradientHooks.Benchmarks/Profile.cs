using System.Diagnostics;
using GradientHooks.Capture;
using GradientHooks.Hooks;
using TorchSharp;

namespace GradientHooks.Benchmarks;

/// <summary>Times the monitor's internal pieces in isolation on the reference MLP (for finding where per-step time goes).</summary>
public static class Profile
{
    public static void Run()
    {
        torch.set_num_threads(2);
        var mlp = new ReferenceMlp();
        using (var s = torch.NewDisposeScope()) mlp.ForwardBackward();
        var updates = new UpdateTracker(mlp.Parameters, new MonitorOptions().UpdateRatioSampleSize);
        var exactUpdates = new UpdateTracker(mlp.Parameters, 0);
        var reducer = new GradientReducer(mlp.Parameters, Array.Empty<UnitLayer>(), torch.get_num_threads());
        var tensorReducer = new GradientReducer(mlp.Parameters, Array.Empty<UnitLayer>(), torch.get_num_threads(), fused: false);
        var infos = mlp.Model.named_parameters().Select(n => new ParameterInfo(n.name, ParameterInfo.LayerOf(n.name), n.parameter.shape, n.parameter.numel())).ToArray();
        var dummy = new StepRecord(1, null, Array.Empty<GradientStats>(), infos);
        Time("forward+backward", () => mlp.ForwardBackward());
        {
            var inSitu = new ReferenceMlp(2);
            using var m = GradientMonitor.Attach(inSitu.Model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
            var samples = new List<double>();
            var second = new List<double>();
            for (int i = 0; i < 300; i++)
            {
                using var scope = torch.NewDisposeScope();
                inSitu.ForwardBackward();
                var sw = System.Diagnostics.Stopwatch.StartNew();
                m.Capture();
                if (i >= 50) samples.Add(sw.Elapsed.TotalMicroseconds);
                sw.Restart();
                m.Capture();
                if (i >= 50) second.Add(sw.Elapsed.TotalMicroseconds);
                inSitu.Optimizer.step();
            }
            samples.Sort();
            second.Sort();
            Console.WriteLine($"{"Capture inside a training loop",-28} median {samples[samples.Count / 2],9:F1} us; a second Capture right after {second[second.Count / 2]:F1} us");
        }
        Time("forward only", () => mlp.Model.call(mlp.X));
        var tracker = new ActivationTracker(0.01);
        tracker.Attach(mlp.Model);
        tracker.Armed = true;
        Time("forward, 3 hooks armed", () => mlp.Model.call(mlp.X));
        tracker.Dispose();
        Time("optimizer.step", () => mlp.Optimizer.step());
        Time("reducer full", () => { reducer.ReadGradients(); reducer.Reduce(Array.Empty<torch.Tensor>()); reducer.Clear(); });
        Time("reducer NaN check", () => { reducer.ReadGradients(); reducer.AnyNonFinite(); reducer.Clear(); });
        var names = infos.Select(i => i.Name).ToArray();
        var unitReducer = new GradientReducer(mlp.Parameters, UnitLayer.Find(mlp.Model, names, infos.Select(i => i.Shape).ToArray()), torch.get_num_threads());
        Time("reducer full + unit rows", () => { unitReducer.ReadGradients(); unitReducer.Reduce(Array.Empty<torch.Tensor>()); unitReducer.Units(true, 20); unitReducer.Clear(); });
        {
            var probe = new ReferenceMlp(3);
            using (var s0 = torch.NewDisposeScope()) probe.ForwardBackward();
            using var pm = GradientMonitor.Attach(probe.Model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
            Time("monitor Capture, warm grads", () => pm.Capture());
        }
        {
            var small = new BlockNet(2, 256);
            using (var s0 = torch.NewDisposeScope()) small.ForwardBackward();
            using var light = GradientMonitor.Attach(small.Model, new MonitorOptions { Every = 1_000_000, TrackActivations = false, TrackUpdates = false });
            using var full = GradientMonitor.Attach(new BlockNet(2, 256).Model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
            Time("2x256 light Capture (NaN check)", () => light.Capture());
            var smallFull = new BlockNet(2, 256);
            using (var s1 = torch.NewDisposeScope()) smallFull.ForwardBackward();
            using var fullMonitor = GradientMonitor.Attach(smallFull.Model, new MonitorOptions { TrackActivations = false, TrackUpdates = false });
            Time("2x256 full Capture", () => fullMonitor.Capture());
            Time("2x256 forward+backward", () => small.ForwardBackward());
            Time("2x256 clip_grad_norm_", () => torch.nn.utils.clip_grad_norm_(small.Parameters, 1e9));
        }
        Time("read grads only", () => { reducer.ReadGradients(); reducer.Clear(); });
        Time("libtorch reducer full", () => { tensorReducer.ReadGradients(); tensorReducer.Reduce(Array.Empty<torch.Tensor>()); tensorReducer.Clear(); });
        Time("libtorch reducer NaN check", () => { tensorReducer.ReadGradients(); tensorReducer.AnyNonFinite(); tensorReducer.Clear(); });
        Time("update snapshot", () => updates.Snapshot(dummy));
        Time("update snapshot+complete", () => { updates.Snapshot(dummy); updates.Complete(); });
        Time("exact update snapshot+complete", () => { exactUpdates.Snapshot(dummy); exactUpdates.Complete(); });
        var dir = Path.Combine(Path.GetTempPath(), "gradienthooks-profile-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        using (var events = new GradientHooks.Reporting.EventFileWriter(dir, TimeSpan.FromSeconds(1)))
            Time("12 buffered TensorBoard scalars", () => { for (int i = 0; i < 12; i++) events.Scalar("grad_norm/fc1", 0.5, 10, 1.7e9); });
        Directory.Delete(dir, recursive: true);
    }

    private static void Time(string name, Action action)
    {
        var samples = new List<double>();
        for (int r = 0; r < 15; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < 20; i++) { using var scope = torch.NewDisposeScope(); action(); }
            samples.Add(sw.Elapsed.TotalMicroseconds / 20);
        }
        samples.Sort();
        Console.WriteLine($"{name,-28} median {samples[7],9:F1} us");
    }
}
