using GradientHooks.Diagnostics;
using GradientHooks.Precision;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Precision;

/// <summary>
/// Float16 and bfloat16 on the CPU: gradients that underflow without scaling (counted with libtorch in the test), the
/// same model trained with a LossScaler and float32 master weights reaching the float32 run's loss, master weights'
/// plumbing, and what the diagnosis says of each case.
/// </summary>
public sealed class Float16TrainingTests
{
    /// <summary>A regression whose loss is weighted 1e-6: ∂L/∂output of order 4e-9, below float16's smallest subnormal (6e-8).</summary>
    private static (Tensor X, Tensor Y) Data()
    {
        torch.manual_seed(7);
        var x = torch.randn(256, 16);
        var w = torch.randn(16, 1);
        return (x, (x.matmul(w)).tanh() * 1e-3f);
    }

    private const double LossWeight = 1e-6;

    private static Sequential Model() { torch.manual_seed(8); return Sequential(("fc1", Linear(16, 32)), ("act1", Tanh()), ("fc2", Linear(32, 1))); }

    /// <summary>Trains <paramref name="steps"/> steps; returns the unweighted loss of the last step as float32 and the monitor's diagnosis.</summary>
    private static (double Loss, Diagnosis Diagnosis, double ZerosAtFirstStep) Train(ScalarType dtype, bool scale, bool master, int steps, double lr = 1e-2)
    {
        var (x, y) = Data();
        var model = Model();
        model.to(dtype);
        var xs = x.to_type(dtype);
        var ys = y.to_type(dtype);
        using var monitor = GradientMonitor.Attach(model);
        using var masters = master ? new MasterWeights(model) : null;
        var scaler = scale ? new LossScaler() : null;
        using var optimizer = monitor.Guard(optim.Adam(masters?.parameters() ?? model.parameters(), lr), null, new GuardOptions { LossScaler = scaler, MasterWeights = masters });
        double last = double.NaN, zeros = double.NaN;
        for (int step = 1; step <= steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var mse = functional.mse_loss(model.call(xs).to_type(ScalarType.Float32), ys.to_type(ScalarType.Float32));
            var loss = mse * LossWeight;
            (scaler?.Scale(loss) ?? loss).backward();
            if (step == 1 && !scale)   // independent of the monitor: libtorch counts the exact zeros of the float16 gradients
                zeros = model.parameters().Sum(p => p.grad!.eq(0).sum().item<long>()) / (double)model.parameters().Sum(p => p.numel());
            monitor.Capture(loss);
            optimizer.step();
            last = mse.item<float>();
        }
        return (last, monitor.Diagnose(), zeros);
    }

    [Fact]
    public void Float16_gradients_underflow_without_scaling_and_the_scaled_run_reaches_the_float32_loss()
    {
        var fp32 = Train(ScalarType.Float32, scale: false, master: false, steps: 150);
        var unscaled = Train(ScalarType.Float16, scale: false, master: true, steps: 150);
        var scaled = Train(ScalarType.Float16, scale: true, master: true, steps: 150);

        Assert.True(unscaled.ZerosAtFirstStep > 0.9, $"only {unscaled.ZerosAtFirstStep:P0} of the float16 gradients underflowed");
        Assert.True(fp32.Loss < 0.5 * InitialLoss(), $"the float32 run did not learn: {fp32.Loss:G3} vs {InitialLoss():G3}");
        Assert.True(unscaled.Loss > 0.9 * InitialLoss(), $"the unscaled float16 run learned ({unscaled.Loss:G3}); its gradients did not underflow");
        Assert.InRange(scaled.Loss, fp32.Loss * 0.8, fp32.Loss * 1.25);   // float16 forward rounding; the same trajectory otherwise

        Assert.Equal(FindingKind.GradientUnderflow, unscaled.Diagnosis.RootCause?.Kind);
        Assert.DoesNotContain(scaled.Diagnosis.Findings, f => f.Severity != Severity.Info);
        Assert.DoesNotContain(fp32.Diagnosis.Findings, f => f.Kind == FindingKind.GradientUnderflow);
    }

    private static double InitialLoss()
    {
        var (x, y) = Data();
        using var noGrad = torch.no_grad();
        return functional.mse_loss(Model().call(x), y).item<float>();
    }

    [Fact]
    public void Adam_stepping_float16_weights_directly_is_named_as_the_cause_of_the_NaN_with_master_weights_as_the_remedy()
    {
        var (x, y) = TestModels.Batch();
        var model = TestModels.Mlp();
        model.to(ScalarType.Float16);
        using var monitor = GradientMonitor.Attach(model);
        using var optimizer = monitor.Guard(optim.Adam(model.parameters(), 1e-3));
        for (int step = 0; step < 8; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x.to_type(ScalarType.Float16)), y);
            loss.backward();
            monitor.Capture(loss);
            optimizer.step();
        }
        // Independent of the diagnosis: libtorch says the weights are NaN, and float16 says 1e-8 is 0.
        Assert.Contains(model.parameters(), p => p.isnan().any().item<bool>());
        Assert.Equal(0, (double)(Half)1e-8);
        var d = monitor.Diagnose();
        Assert.Equal(FindingKind.LowPrecisionOptimizer, d.RootCause!.Kind);
        Assert.Equal(Severity.Critical, d.RootCause.Severity);
        Assert.Contains(d.RootCause.Remedies, r => r.Kind == RemedyKind.MasterWeights);
        Assert.Contains(d.Findings, f => f.Kind == FindingKind.NonFiniteGradients && f.Cause == FindingKind.LowPrecisionOptimizer);
    }

    [Fact]
    public void Master_weights_are_float32_the_model_gets_them_back_rounded_and_zero_grad_clears_the_float16_gradients()
    {
        var (x, y) = TestModels.Batch();
        var model = TestModels.Mlp();
        model.to(ScalarType.Float16);
        using var monitor = GradientMonitor.Attach(model);
        using var master = new MasterWeights(model);
        using var optimizer = monitor.Guard(optim.Adam(master.parameters(), 1e-3), null, new GuardOptions { MasterWeights = master, LossScaler = new LossScaler(initScale: 1024) });
        Assert.All(master.Parameters, p => Assert.Equal(ScalarType.Float32, p.dtype));
        Assert.Equal(6, master.CopiedCount);
        for (int step = 0; step < 3; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.eq(0).all().item<bool>(), "zero_grad left float16 gradients"));
            var loss = functional.cross_entropy(model.call(x.to_type(ScalarType.Float16)), y);
            optimizer.LossScaler!.Scale(loss).backward();
            optimizer.step();
        }
        foreach (var (m, p) in master.Parameters.Zip(model.parameters()))
        {
            Assert.Equal(ScalarType.Float16, p.dtype);
            Assert.True(m.to_type(ScalarType.Float16).eq(p).all().item<bool>(), "the model does not hold its master weights rounded to float16");
            Assert.Equal(ScalarType.Float32, m.grad!.dtype);
        }
        Assert.False(master.Parameters.Zip(model.parameters()).All(t => t.First.eq(t.Second.to_type(ScalarType.Float32)).all().item<bool>()), "the masters hold nothing float16 cannot");
    }

    [Fact]
    public void Master_weights_of_another_model_or_an_optimizer_over_the_float16_weights_are_refused_naming_the_option()
    {
        var model = TestModels.Mlp(seed: 1);
        var other = TestModels.Mlp(seed: 2);
        model.to(ScalarType.Float16);
        other.to(ScalarType.Float16);
        using var monitor = GradientMonitor.Attach(model);
        using var mine = new MasterWeights(model);
        using var theirs = new MasterWeights(other);
        var e = Assert.Throws<ArgumentException>(() => monitor.Guard(optim.Adam(theirs.parameters()), null, new GuardOptions { MasterWeights = theirs }));
        Assert.Contains("GuardOptions.MasterWeights", e.Message);
        e = Assert.Throws<ArgumentException>(() => monitor.Guard(optim.Adam(model.parameters()), null, new GuardOptions { MasterWeights = mine }));
        Assert.Contains("'fc1.weight'", e.Message);
        Assert.Contains("master.parameters()", e.Message);
        Assert.Equal("optimizer", e.ParamName);
    }

    [Fact]
    public void A_loss_scale_that_keeps_falling_is_reported_with_the_scales_that_overflowed()
    {
        var (x, y) = TestModels.Batch();
        var model = TestModels.Mlp();
        using var monitor = GradientMonitor.Attach(model);
        var scaler = new LossScaler(initScale: 1024);
        using var optimizer = monitor.Guard(optim.SGD(model.parameters(), 0.01), null, new GuardOptions { LossScaler = scaler });
        for (int step = 0; step < 30; step++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            scaler.Scale(loss).backward();
            using (torch.no_grad()) model.parameters().First().grad![0, 0] = float.PositiveInfinity;   // a gradient that overflows at any scale
            monitor.Capture(loss);
            optimizer.step();
        }
        Assert.Equal(1024 * Math.Pow(0.5, 30), scaler.CurrentScale, 12);
        var d = monitor.Diagnose();
        var collapse = Assert.Single(d.Findings, f => f.Kind == FindingKind.LossScaleCollapse);
        Assert.Equal(Severity.Critical, collapse.Severity);
        Assert.Contains("step 1 at scale 1024", collapse.Evidence[0]);
        Assert.DoesNotContain(d.Findings, f => f.Kind == FindingKind.NonFiniteGradients);   // the weights are intact: every such step was skipped
    }
}
