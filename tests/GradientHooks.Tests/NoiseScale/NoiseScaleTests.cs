using FsCheck;
using FsCheck.Xunit;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.NoiseScale;

/// <summary>
/// The gradient noise scale against what the test draws (a known true gradient G and per-example covariance Σ),
/// against the two-batch-size formulas of McCandlish et al. (2018, appendix A) written out here, and against gradients
/// computed micro-batch by micro-batch with autograd.
/// </summary>
public sealed class NoiseScaleTests
{
    /// <summary>A model whose gradients the test writes itself: two layers of 30 and 20 weights.</summary>
    private static Sequential TwoLayers() => Sequential(("fc1", Linear(30, 1, hasBias: false)), ("fc2", Linear(20, 1, hasBias: false)));

    [Fact]
    public void On_drawn_gradients_the_estimate_is_within_10_percent_of_tr_Sigma_over_G_squared_per_layer_and_in_total()
    {
        var model = TwoLayers();
        var parameters = model.parameters().ToArray();
        var random = new Random(42);
        // True gradients and per-example standard deviations, per layer; B_simple = Σ var / |G|².
        var g = new[] { Enumerable.Range(0, 30).Select(_ => random.NextDouble() - 0.5).ToArray(), Enumerable.Range(0, 20).Select(_ => 2 * (random.NextDouble() - 0.5)).ToArray() };
        var sd = new[] { Enumerable.Range(0, 30).Select(_ => 0.5 + random.NextDouble()).ToArray(), Enumerable.Range(0, 20).Select(_ => 2 + 2 * random.NextDouble()).ToArray() };
        double[] g2 = g.Select(v => v.Sum(x => x * x)).ToArray(), trace = sd.Select(v => v.Sum(x => x * x)).ToArray();
        double expected1 = trace[0] / g2[0], expected2 = trace[1] / g2[1], expectedTotal = trace.Sum() / g2.Sum();

        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackNoiseScale = true, NoiseScaleSmoothing = 0.998, TrackUpdates = false, TrackActivations = false });
        const int microBatches = 4;
        var sizes = new long[] { 8, 16, 8, 32 };   // unequal micro-batches: the harmonic mean is what counts
        StepRecord? last = null;
        for (int step = 0; step < 3000; step++)
        {
            foreach (var p in parameters) p.grad = null;
            for (int i = 0; i < microBatches; i++)
            {
                for (int l = 0; l < 2; l++)
                {
                    // A micro-batch mean of b examples: G + noise of variance var/b; added divided by M, as accumulation does.
                    var sample = g[l].Select((mean, j) => (float)((mean + sd[l][j] / Math.Sqrt(sizes[i]) * Gaussian(random)) / microBatches)).ToArray();
                    var share = tensor(sample).reshape(1, sample.Length);
                    using (torch.no_grad()) parameters[l].grad = parameters[l].grad is { } acc ? acc + share : share;
                }
                monitor.CaptureMicroBatch(sizes[i]);
            }
            last = monitor.Capture(1.0);
        }
        Assert.Equal(64, last!.BatchExamples);
        Assert.Equal(4, last.MicroBatches);
        Assert.InRange(last.NoiseScale!.Value / expectedTotal, 0.9, 1.1);
        Assert.InRange(last.LayerNoise.Single(n => n.Layer == "fc1").Simple!.Value / expected1, 0.9, 1.1);
        Assert.InRange(last.LayerNoise.Single(n => n.Layer == "fc2").Simple!.Value / expected2, 0.9, 1.1);
        Assert.InRange(last.Noise!.GradientSquaredNorm / g2.Sum(), 0.9, 1.1);
    }

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>The paper's two-batch estimators with equal micro-batches of b: B_small = b, B_big = M·b.</summary>
    private static (double G2, double Trace) Paper(double smallSquaredNorm, double bigSquaredNorm, double b, int m)
    {
        double bSmall = b, bBig = m * b;
        return ((bBig * bigSquaredNorm - bSmall * smallSquaredNorm) / (bBig - bSmall), (smallSquaredNorm - bigSquaredNorm) / (1 / bSmall - 1 / bBig));
    }

    [Property(MaxTest = 200)]
    public bool Merging_two_workers_micro_batch_moments_gives_the_estimate_of_all_of_them_which_is_the_papers(PositiveInt seed, PositiveInt size)
    {
        var random = new Random(seed.Get);
        int m = 2 + random.Next(8), split = 1 + random.Next(m - 1);
        long b = size.Get % 512 + 1;
        var norms = Enumerable.Range(0, m).Select(_ => random.NextDouble() * 10).ToArray();
        double big = random.NextDouble() * 5;
        var all = norms.Aggregate(new MicroBatchMoments(), (acc, n) => acc.Add(n, b));
        var first = norms.Take(split).Aggregate(new MicroBatchMoments(), (acc, n) => acc.Add(n, b));
        var second = norms.Skip(split).Aggregate(new MicroBatchMoments(), (acc, n) => acc.Add(n, b));
        var merged = (first + second).Estimate(big)!.Value;
        var whole = all.Estimate(big)!.Value;
        var paper = Paper(norms.Average(), big, b, m);
        static bool Close(double x, double y) => Math.Abs(x - y) <= 1e-9 * Math.Max(1, Math.Abs(y));
        return Close(merged.GradientSquaredNorm, whole.GradientSquaredNorm) && Close(merged.NoiseTrace, whole.NoiseTrace)
            && Close(whole.GradientSquaredNorm, paper.G2) && Close(whole.NoiseTrace, paper.Trace);
    }

    [Fact]
    public void The_first_steps_estimate_equals_the_formula_on_gradients_autograd_computed_micro_batch_by_micro_batch()
    {
        torch.manual_seed(3);
        var model = Sequential(("fc1", Linear(6, 12)), ("tanh", Tanh()), ("fc2", Linear(12, 1)));
        var x = randn(32, 6);
        var y = randn(32, 1);
        const int m = 4;
        // Reference: each micro-batch's mean gradient on its own, flattened, by autograd.
        var gradients = new List<double[]>();
        for (int i = 0; i < m; i++)
        {
            model.zero_grad();
            functional.mse_loss(model.call(x[TensorIndex.Slice(8 * i, 8 * i + 8)]), y[TensorIndex.Slice(8 * i, 8 * i + 8)]).backward();
            gradients.Add(model.parameters().SelectMany(p => p.grad!.to_type(ScalarType.Float64).flatten().data<double>().ToArray()).ToArray());
        }
        var average = Enumerable.Range(0, gradients[0].Length).Select(j => gradients.Average(g => g[j])).ToArray();
        double small = gradients.Average(g => g.Sum(v => v * v)), bigNorm = average.Sum(v => v * v);
        var (g2, trace) = Paper(small, bigNorm, 8, m);

        model.zero_grad();
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackNoiseScale = true });
        for (int i = 0; i < m; i++)
        {
            (functional.mse_loss(model.call(x[TensorIndex.Slice(8 * i, 8 * i + 8)]), y[TensorIndex.Slice(8 * i, 8 * i + 8)]) / m).backward();
            monitor.CaptureMicroBatch(8);
        }
        var record = monitor.Capture();
        // One step: the bias-corrected average is the step's own estimate.
        Assert.Equal(g2, record.Noise!.GradientSquaredNorm, 1e-5 * Math.Abs(g2));
        Assert.Equal(trace, record.Noise.NoiseTrace, 1e-4 * Math.Abs(trace));
        Assert.Equal(32, record.BatchExamples);
    }

    [Fact]
    public void A_step_captured_without_statistics_measures_the_same_noise_scale_as_a_full_one()
    {
        // The full capture takes |A|² from its own Σg²; a light one (Every = 1000) reads it from the last micro-batch's copy.
        double?[] Run(MonitorOptions options)
        {
            torch.manual_seed(3);
            var model = Sequential(("fc1", Linear(6, 12)), ("tanh", Tanh()), ("fc2", Linear(12, 1)));
            var x = randn(32, 6);
            var y = randn(32, 1);
            using var monitor = GradientMonitor.Attach(model, options with { TrackNoiseScale = true });
            var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.05));
            var scales = new double?[6];
            for (int step = 0; step < scales.Length; step++)
            {
                optimizer.zero_grad();
                for (int i = 0; i < 4; i++)
                {
                    (functional.mse_loss(model.call(x[TensorIndex.Slice(8 * i, 8 * i + 8)]), y[TensorIndex.Slice(8 * i, 8 * i + 8)]) / 4).backward();
                    monitor.CaptureMicroBatch(8);
                }
                scales[step] = monitor.Capture().NoiseScale;
                optimizer.step();
            }
            return scales;
        }
        var full = Run(new MonitorOptions());
        var light = Run(new MonitorOptions { Every = 1000, FullStepsAtStart = 0 });
        Assert.All(full, v => Assert.NotNull(v));
        for (int i = 0; i < full.Length; i++) Assert.Equal(full[i]!.Value, light[i]!.Value, 1e-4 * full[i]!.Value);
    }

    [Fact]
    public void Without_micro_batches_nothing_is_measured_and_misuse_names_the_option()
    {
        var model = TwoLayers();
        using (var plain = GradientMonitor.Attach(model))
        {
            var error = Assert.Throws<InvalidOperationException>(() => plain.CaptureMicroBatch(8));
            Assert.Contains("TrackNoiseScale", error.Message);
        }
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackNoiseScale = true });
        Assert.Contains("examples", Assert.Throws<ArgumentOutOfRangeException>(() => monitor.CaptureMicroBatch(0)).Message);
        Assert.Contains("backward", Assert.Throws<InvalidOperationException>(() => monitor.CaptureMicroBatch(8)).Message);
        foreach (var p in model.parameters()) p.grad = ones_like(p);
        var record = monitor.Capture();
        Assert.Null(record.NoiseScale);
        Assert.Null(record.BatchExamples);
        Assert.Contains("NoiseScaleSmoothing", Assert.Throws<ArgumentOutOfRangeException>(() => GradientMonitor.Attach(TwoLayers(), new MonitorOptions { NoiseScaleSmoothing = 1 })).Message);
    }
}
