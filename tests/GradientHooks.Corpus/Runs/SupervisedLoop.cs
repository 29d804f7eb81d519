using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using GradientHooks.Precision;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Runs;

/// <summary>
/// Low-precision training in a corpus loop: the model and its input converted to <paramref name="DType"/>; with
/// <paramref name="LossScaling"/> a <see cref="LossScaler"/> scales each loss before backward; with
/// <paramref name="MasterWeights"/> the optimizer steps float32 <see cref="GradientHooks.Precision.MasterWeights"/>;
/// <paramref name="LossWeight"/> multiplies the loss (an auxiliary-loss weight).
/// </summary>
public sealed record MixedPrecision(ScalarType DType, bool LossScaling, bool MasterWeights, double LossWeight = 1);

/// <summary>How a corpus loop zeroes its gradients.</summary>
public enum ZeroBy
{
    /// <summary><c>optimizer.zero_grad()</c> on the guarded optimizer, as the drop-in loop does.</summary>
    Optimizer,
    /// <summary><c>model.zero_grad()</c>: the gradients are zeroed, but not where the guard can see it.</summary>
    Model,
    /// <summary>Never: the broken loop.</summary>
    None,
}

/// <summary>
/// The hand-written TorchSharp loop of the corpus, as a user writes it with the two drop-in lines: attach a
/// monitor, guard the optimizer; then shuffled mini-batches, zero_grad, forward, loss, backward, Capture(loss), step,
/// each step in its own dispose scope.
/// </summary>
public static class SupervisedLoop
{
    /// <summary>Trains <paramref name="model"/> on (<paramref name="x"/>, <paramref name="y"/>) and returns the monitor's diagnosis.</summary>
    /// <param name="model">The model (already seeded and initialised).</param>
    /// <param name="x">Inputs, first dimension = rows.</param>
    /// <param name="y">Targets, first dimension = rows.</param>
    /// <param name="loss">Loss of a batch: (output, target) → scalar.</param>
    /// <param name="optimizer">Builds the inner optimizer from the parameters.</param>
    /// <param name="epochs">Passes over the data.</param>
    /// <param name="batchSize">Rows per step.</param>
    /// <param name="clipping">The guard's policy (null: none).</param>
    /// <param name="seed">Seeds the shuffling.</param>
    /// <param name="metric">Quality of the trained model, in words (e.g. "accuracy 0.97").</param>
    /// <param name="zero">How the loop zeroes the gradients: through the guard (the drop-in loop), through <c>model.zero_grad()</c> (which the guard cannot see), or not at all (the broken loop).</param>
    /// <param name="microBatches">Gradient accumulation: each step's batch in this many micro-batches, each loss divided by their number, one backward each.</param>
    /// <param name="precision">Float16/bfloat16 training (null: the model's own precision).</param>
    public static RunOutcome Train(Module<Tensor, Tensor> model, Tensor x, Tensor y, Func<Tensor, Tensor, Tensor> loss,
        Func<IEnumerable<TorchSharp.Modules.Parameter>, optim.Optimizer> optimizer, int epochs, int batchSize,
        IClippingPolicy? clipping, int seed, Func<Module<Tensor, Tensor>, string> metric, ZeroBy zero = ZeroBy.Optimizer, int microBatches = 1,
        MixedPrecision? precision = null)
    {
        if (precision is not null)
        {
            model.to(precision.DType);
            x = x.to_type(precision.DType);
        }
        using var monitor = GradientMonitor.Attach(model);
        using var log = RunLogs.Attach(monitor, $"{model.GetType().Name}-{seed}-{Guid.NewGuid():N}");
        using var master = precision is { MasterWeights: true } ? new MasterWeights(model) : null;
        var scaler = precision is { LossScaling: true } ? new LossScaler() : null;
        double weight = precision?.LossWeight ?? 1;
        using var guarded = monitor.Guard(optimizer(master?.parameters() ?? model.parameters()), clipping, new GuardOptions { LossScaler = scaler, MasterWeights = master });
        void Backward(Tensor l)
        {
            if (scaler is not null) scaler.Scale(l).backward();
            else l.backward();
        }
        var generator = new Random(seed);
        long rows = x.shape[0], steps = 0;
        model.train();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var order = Enumerable.Range(0, (int)rows).OrderBy(_ => generator.Next()).Select(i => (long)i).ToArray();
            for (int start = 0; start + batchSize <= rows; start += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                if (zero == ZeroBy.Optimizer) guarded.zero_grad();
                else if (zero == ZeroBy.Model) model.zero_grad();
                if (microBatches == 1)
                {
                    var index = torch.tensor(order.AsSpan(start, batchSize).ToArray());
                    var l = loss(model.call(x.index_select(0, index)), y.index_select(0, index));
                    if (weight != 1) l = l * weight;
                    Backward(l);
                    monitor.Capture(l);
                }
                else
                {
                    double total = 0;
                    int size = batchSize / microBatches;
                    for (int m = 0; m < microBatches; m++)
                    {
                        var index = torch.tensor(order.AsSpan(start + m * size, size).ToArray());
                        var l = loss(model.call(x.index_select(0, index)), y.index_select(0, index)) / microBatches;
                        Backward(l);
                        total += l.item<float>();
                    }
                    monitor.Capture(total);
                }
                guarded.step();
                steps++;
            }
        }
        model.eval();
        var quality = metric(model);
        return new RunOutcome(monitor.Diagnose(), quality, steps) { History = monitor.History.ToArray(), SkippedSteps = guarded.SkippedSteps - (scaler?.Overflows ?? 0), Model = model, Profile = monitor.Profile, LogPath = log?.Path };
    }

    /// <summary>Accuracy of arg-max predictions on (<paramref name="x"/>, <paramref name="labels"/>), as "accuracy 0.953".</summary>
    public static string Accuracy(Module<Tensor, Tensor> model, Tensor x, Tensor labels)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var dtype = model.parameters().First().dtype;   // a float16 model reads float16 input
        var predicted = model.call(x.is_floating_point() && x.dtype != dtype ? x.to_type(dtype) : x).argmax(1);
        var accuracy = predicted.eq(labels).to_type(ScalarType.Float64).mean().item<double>();
        return FormattableString.Invariant($"accuracy {accuracy:0.000}");
    }
}
