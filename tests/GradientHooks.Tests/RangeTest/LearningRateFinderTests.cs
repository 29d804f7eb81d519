using TorchSharp.Modules;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.RangeTest;

/// <summary>
/// The range test against a closed form (the largest stable rate of gradient descent on least squares, 2/λ_max of the
/// Hessian, computed here with libtorch's eigvalsh), the promise to leave model and optimizer as they were (compared
/// bit for bit with a twin that never swept), and bad input.
/// </summary>
public sealed class LearningRateFinderTests
{
    /// <summary>Least squares with columns of different scales: y = Xw + noise, X of <paramref name="rows"/> × 4.</summary>
    private static (Tensor X, Tensor Y) Regression(int rows, long seed)
    {
        var generator = new Generator((ulong)seed);
        var scales = tensor(new float[] { 1f, 0.5f, 2f, 0.1f });
        var x = randn(new long[] { rows, 4 }, generator: generator) * scales + 0.3f;
        var w = tensor(new float[] { 1.5f, -2f, 0.7f, 3f }).reshape(4, 1);
        var y = x.matmul(w) + 0.1f * randn(new long[] { rows, 1 }, generator: generator) + 0.5f;
        return (x, y);
    }

    /// <summary>2/λ_max for mean squared error of a Linear(4, 1) with bias: the Hessian is 2X̃ᵀX̃/n, X̃ = [X, 1].</summary>
    private static double LargestStableRate(Tensor x)
    {
        var augmented = cat(new[] { x, ones(x.shape[0], 1) }, 1).to_type(ScalarType.Float64);
        var hessian = 2 * augmented.t().matmul(augmented) / x.shape[0];
        double lambdaMax = linalg.eigvalsh(hessian).max().item<double>();
        return 2 / lambdaMax;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void On_least_squares_with_SGD_the_sweep_stops_near_the_largest_stable_rate_and_suggests_a_rate_below_it(long seed)
    {
        torch.manual_seed(seed);
        var (x, y) = Regression(512, seed);
        double stable = LargestStableRate(x);
        var model = Linear(4, 1);
        var optimizer = optim.SGD(model.parameters(), 0.01);
        var sweep = LearningRateFinder.Run(model, optimizer, () => functional.mse_loss(model.call(x), y));

        Assert.True(sweep.Diverged, sweep.ToString());
        Assert.InRange(sweep.DivergedAt!.Value / stable, 0.5, 8);
        Assert.NotNull(sweep.Suggested);
        Assert.InRange(sweep.Suggested!.Value / stable, 0.01, 1);
        Assert.Equal(sweep.Rates.Count, sweep.Losses.Count);
        Assert.True(sweep.Rates.Count < 100, "the sweep stops once the loss diverged");
        Assert.Same(sweep, LearningRateFinder.LastFor(model));
    }

    [Fact]
    public void The_rates_grow_exponentially_from_the_start_rate_to_the_end_rate()
    {
        var (x, y) = Regression(64, 4);
        var model = Linear(4, 1);
        // A rate range too low to diverge: every step is taken.
        var sweep = LearningRateFinder.Run(model, optim.SGD(model.parameters(), 0.01), () => functional.mse_loss(model.call(x), y), 1e-6, 1e-4, 20);
        Assert.False(sweep.Diverged);
        Assert.Equal(20, sweep.Rates.Count);
        Assert.Equal(1e-6, sweep.Rates[0], 1e-15);
        Assert.Equal(1e-4, sweep.Rates[^1], 1e-12);
        for (int i = 1; i < 20; i++) Assert.Equal(Math.Pow(100, 1.0 / 19), sweep.Rates[i] / sweep.Rates[i - 1], 1e-9);
    }

    /// <summary>A model with BatchNorm (running statistics), Dropout (random numbers) and Adam with state after a few steps.</summary>
    private static (Sequential Model, optim.Optimizer Optimizer) Trained(Tensor x, Tensor y)
    {
        torch.manual_seed(11);
        var model = Sequential(("fc1", Linear(4, 16)), ("bn", BatchNorm1d(16)), ("relu", ReLU()), ("fc2", Linear(16, 1)));
        var optimizer = optim.Adam(model.parameters(), 3e-3);
        for (int i = 0; i < 3; i++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            functional.mse_loss(model.call(x), y).backward();
            optimizer.step();
        }
        return (model, optimizer);
    }

    [Fact]
    public void The_range_test_leaves_weights_buffers_gradients_optimizer_state_and_rates_bit_identical()
    {
        var (x, y) = Regression(128, 5);
        var (swept, sweptOptimizer) = Trained(x, y);
        var (twin, twinOptimizer) = Trained(x, y);
        // A gradient left in place before the test must be there after it.
        functional.mse_loss(swept.call(x), y).backward();
        functional.mse_loss(twin.call(x), y).backward();

        var sweep = LearningRateFinder.Run(swept, sweptOptimizer, () => functional.mse_loss(swept.call(x), y), 1e-5, 10, 60);
        Assert.True(sweep.Rates.Count > 10);

        foreach (var ((name, a), (_, b)) in swept.named_parameters().Zip(twin.named_parameters()))
        {
            Assert.True(a.eq(b).all().item<bool>(), $"weight {name} changed");
            Assert.True(a.grad!.eq(b.grad!).all().item<bool>(), $"gradient of {name} changed");
        }
        foreach (var ((name, a), (_, b)) in swept.named_buffers().Zip(twin.named_buffers()))
            Assert.True(a.eq(b).all().item<bool>(), $"buffer {name} changed");
        Assert.Equal(3e-3, sweptOptimizer.ParamGroups.Single().LearningRate);

        // The optimizer's state too: the next step of both (Adam's moments and step count) is the same, bit for bit.
        foreach (var (model, optimizer) in new[] { (swept, sweptOptimizer), (twin, twinOptimizer) })
        {
            optimizer.zero_grad();
            functional.mse_loss(model.call(x), y).backward();
            optimizer.step();
        }
        foreach (var ((name, a), (_, b)) in swept.named_parameters().Zip(twin.named_parameters()))
            Assert.True(a.eq(b).all().item<bool>(), $"weight {name} differs after the next step: the optimizer's state was not restored");
    }

    [Fact]
    public void A_monitored_model_records_no_step_of_the_sweep_and_its_guard_counts_none()
    {
        var (x, y) = Regression(64, 6);
        var model = Sequential(("fc1", Linear(4, 8)), ("relu", ReLU()), ("fc2", Linear(8, 1)));
        using var monitor = GradientMonitor.Attach(model);
        using var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.01), GradientHooks.Clipping.Clip.GlobalNorm(1));
        optimizer.zero_grad();
        var loss = functional.mse_loss(model.call(x), y);
        loss.backward();
        monitor.Capture(loss);
        optimizer.step();

        var sweep = LearningRateFinder.Run(model, optimizer, () => functional.mse_loss(model.call(x), y), 1e-5, 100, 40);
        Assert.True(sweep.Diverged, sweep.ToString());
        Assert.Equal(1, monitor.StepCount);
        Assert.Single(monitor.History);
        Assert.Equal(0, optimizer.SkippedSteps);
        Assert.Equal(0.01, optimizer.ParamGroups.Single().LearningRate);
    }

    [Fact]
    public void Bad_input_is_refused_naming_the_argument_and_nothing_changes()
    {
        var (x, y) = Regression(32, 7);
        var model = Linear(4, 1);
        var optimizer = optim.SGD(model.parameters(), 0.01);
        var before = model.weight!.detach().clone();
        Func<Tensor> loss = () => functional.mse_loss(model.call(x), y);

        Assert.Contains("startRate", Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateFinder.Run(model, optimizer, loss, startRate: 0)).Message);
        Assert.Contains("endRate", Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateFinder.Run(model, optimizer, loss, startRate: 1e-3, endRate: 1e-4)).Message);
        Assert.Contains("steps", Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateFinder.Run(model, optimizer, loss, steps: 3)).Message);
        var notScalar = Assert.Throws<ArgumentException>(() => LearningRateFinder.Run(model, optimizer, () => functional.mse_loss(model.call(x), y, Reduction.None)));
        Assert.Contains("scalar", notScalar.Message);
        Assert.Contains("[32, 1]", notScalar.Message);
        var noGrad = Assert.Throws<ArgumentException>(() => LearningRateFinder.Run(model, optimizer, () => { using var _ = torch.no_grad(); return functional.mse_loss(model.call(x), y); }));
        Assert.Contains("without grad", noGrad.Message);
        Assert.True(model.weight!.eq(before).all().item<bool>());
        Assert.Equal(0.01, optimizer.ParamGroups.Single().LearningRate);
    }

    [Fact]
    public void A_user_function_that_throws_mid_sweep_still_gets_its_model_back()
    {
        var (x, y) = Regression(32, 8);
        var model = Linear(4, 1);
        var optimizer = optim.SGD(model.parameters(), 0.01);
        var before = model.weight!.detach().clone();
        int calls = 0;
        Assert.Throws<IOException>(() => LearningRateFinder.Run(model, optimizer, () => ++calls > 5 ? throw new IOException("the data went away") : functional.mse_loss(model.call(x), y), 1e-3, 1, 20));
        Assert.True(model.weight!.eq(before).all().item<bool>());
        Assert.Equal(0.01, optimizer.ParamGroups.Single().LearningRate);
    }
}
