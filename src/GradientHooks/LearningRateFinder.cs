using GradientHooks.Diagnostics;
using GradientHooks.RangeTest;
using System.Runtime.CompilerServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks;

/// <summary>
/// The learning-rate range test (Smith 2017, "Cyclical Learning Rates", §3.3; fastai's <c>lr_find</c>,
/// torch-lr-finder): train for a few steps while the rate grows exponentially from a low to a high value, watch the
/// loss, and stop when it diverges. The weights, the optimizer's state, the model's buffers, the gradients and the
/// learning rates are put back afterwards, bit for bit, so the run that follows starts where it would have.
/// <para>Step i uses ηᵢ = η₀·(η₁/η₀)^(i/(N−1)); <see cref="LearningRateSweep.Losses"/>[i] is the loss of the next batch
/// after that update. The sweep stops at the divergence rule the diagnosis applies to a training run's loss (see
/// <see cref="LearningRateSweep.DivergedAt"/>). The suggestion is the smaller of the rate where the smoothed log-loss
/// falls fastest and an order of magnitude below divergence.</para>
/// <para>When a <see cref="GradientMonitor"/> is attached to the model its hooks record nothing during the sweep, and
/// its diagnosis quotes the sweep afterwards ("lower the learning rate to about 3e-3 (range test)").</para>
/// </summary>
public static class LearningRateFinder
{
    private static readonly ConditionalWeakTable<Module, LearningRateSweep> LastSweeps = new();

    /// <summary>
    /// Runs the range test on <paramref name="model"/> with <paramref name="optimizer"/> and the batches
    /// <paramref name="lossOfNextBatch"/> returns (a scalar loss of the next training batch, computed with grad),
    /// then restores both.
    /// </summary>
    /// <param name="model">The model the loss is computed with (its buffers are restored too).</param>
    /// <param name="optimizer">The optimizer to sweep the rate of: every parameter group gets the same rate. A
    /// <see cref="GuardedOptimizer"/> is swept through the optimizer it wraps, so the monitor records no step.</param>
    /// <param name="lossOfNextBatch">Called <paramref name="steps"/> + 1 times at most; must return a scalar with grad.</param>
    /// <param name="startRate">The first rate, &gt; 0.</param>
    /// <param name="endRate">The last rate, &gt; <paramref name="startRate"/>.</param>
    /// <param name="steps">Updates in the sweep, at least 10.</param>
    /// <exception cref="ArgumentException">A bad rate or step count, an optimizer whose state TorchSharp keeps in native
    /// code (it could not be restored), a loss that is not a scalar with grad.</exception>
    public static LearningRateSweep Run(Module model, optim.Optimizer optimizer, Func<Tensor> lossOfNextBatch,
        double startRate = 1e-7, double endRate = 10, int steps = 100)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(lossOfNextBatch);
        if (!(startRate > 0) || !double.IsFinite(startRate))
            throw new ArgumentOutOfRangeException(nameof(startRate), startRate, "startRate must be a positive finite learning rate, such as 1e-7.");
        if (!(endRate > startRate) || !double.IsFinite(endRate))
            throw new ArgumentOutOfRangeException(nameof(endRate), endRate, $"endRate must be a finite learning rate above startRate ({startRate:G3}), such as 10.");
        if (steps < 10)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be at least 10 (the curve is smoothed and judged over blocks of steps); 100 is usual.");
        var inner = optimizer is GuardedOptimizer guarded ? Unwrap(guarded) : optimizer;
        if (inner is not OptimizerHelper stateful)
            throw new ArgumentException($"LearningRateFinder restores the optimizer's state afterwards, which TorchSharp keeps in managed code only for its own optimizers (SGD, Adam, AdamW, RMSprop, ...); {inner.GetType().Name} is not one.", nameof(optimizer));

        var monitor = GradientMonitor.AttachedTo(model);
        using var pause = monitor?.PauseRecording();
        using var restorePoint = new SweepRestorePoint(model, inner, stateful);
        var rates = new List<double>(steps);
        var losses = new List<double>(steps);
        double initial = double.NaN;
        int block = SweepAnalysis.Block(steps);
        double factor = new DiagnosticThresholds().RisingLossFactor;
        int? divergence = null;
        try
        {
            for (int i = 0; i <= steps; i++)
            {
                using var scope = torch.NewDisposeScope();
                inner.zero_grad();
                var loss = lossOfNextBatch() ?? throw new InvalidOperationException("lossOfNextBatch returned null; it must return the loss of the next batch.");
                if (loss.numel() != 1)
                    throw new ArgumentException($"lossOfNextBatch must return a scalar loss; it returned shape [{string.Join(", ", loss.shape)}].", nameof(lossOfNextBatch));
                double value = loss.to_type(ScalarType.Float64).item<double>();
                if (i == 0) initial = value;
                else
                {
                    losses.Add(value);
                    divergence = SweepAnalysis.Divergence(losses, block, factor);
                    if (divergence is not null || i == steps) break;
                }
                if (!double.IsFinite(value)) break;   // the model as given does not compute a finite loss
                if (!loss.requires_grad)
                    throw new ArgumentException("lossOfNextBatch returned a loss without grad (computed under no_grad, or from detached outputs); the range test needs to call backward() on it.", nameof(lossOfNextBatch));
                double rate = startRate * Math.Pow(endRate / startRate, (double)i / (steps - 1));
                foreach (var group in inner.ParamGroups) group.LearningRate = rate;
                loss.backward();
                inner.step();
                rates.Add(rate);
            }
        }
        finally
        {
            restorePoint.Restore();
        }
        if (!double.IsFinite(initial))
            throw new ArgumentException($"The model's loss is {initial} before any update: the range test needs a finite loss to start from (check the inputs and the loss).", nameof(lossOfNextBatch));

        int window = Math.Max(5, (steps / 20) | 1);
        // The curve up to where it diverged is judged (every loss before it is finite: a NaN/Inf is divergence at once).
        var smoothed = SweepAnalysis.Smooth(losses.Take(divergence ?? losses.Count).ToList(), window);
        var (steepest, minimum) = SweepAnalysis.Suggestions(rates, smoothed, window, initial);
        var sweep = new LearningRateSweep
        {
            Rates = rates, Losses = losses, SmoothedLosses = smoothed, InitialLoss = initial,
            StartRate = startRate, EndRate = endRate, Steps = steps,
            DivergedAt = divergence is int d ? rates[d] : null,
            Steepest = steepest is int s ? rates[s] : null,
            Minimum = minimum is int m ? rates[m] : null,
        };
        LastSweeps.AddOrUpdate(model, sweep);
        return sweep;
    }

    /// <summary>The last range test run on <paramref name="model"/> in this process, or null.</summary>
    public static LearningRateSweep? LastFor(Module model) => LastSweeps.TryGetValue(model, out var sweep) ? sweep : null;

    private static optim.Optimizer Unwrap(GuardedOptimizer guarded)
    {
        if (guarded.MasterWeights is not null || guarded.LossScaler is not null)
            throw new ArgumentException("LearningRateFinder sweeps the rate of a float32 model: run it before guarding the optimizer with a LossScaler or MasterWeights (on the optimizer you pass to monitor.Guard).", nameof(guarded));
        return guarded.Inner;
    }
}
