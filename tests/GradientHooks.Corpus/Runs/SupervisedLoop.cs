using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Runs;

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
    public static RunOutcome Train(Module<Tensor, Tensor> model, Tensor x, Tensor y, Func<Tensor, Tensor, Tensor> loss,
        Func<IEnumerable<TorchSharp.Modules.Parameter>, optim.Optimizer> optimizer, int epochs, int batchSize,
        IClippingPolicy? clipping, int seed, Func<Module<Tensor, Tensor>, string> metric)
    {
        using var monitor = GradientMonitor.Attach(model);
        using var guarded = monitor.Guard(optimizer(model.parameters()), clipping);
        var generator = new Random(seed);
        long rows = x.shape[0], steps = 0;
        model.train();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            var order = Enumerable.Range(0, (int)rows).OrderBy(_ => generator.Next()).Select(i => (long)i).ToArray();
            for (int start = 0; start + batchSize <= rows; start += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                var index = torch.tensor(order.AsSpan(start, batchSize).ToArray());
                guarded.zero_grad();
                var l = loss(model.call(x.index_select(0, index)), y.index_select(0, index));
                l.backward();
                monitor.Capture(l);
                guarded.step();
                steps++;
            }
        }
        model.eval();
        var quality = metric(model);
        return new RunOutcome(monitor.Diagnose(), quality, steps) { History = monitor.History.ToArray(), SkippedSteps = guarded.SkippedSteps };
    }

    /// <summary>Accuracy of arg-max predictions on (<paramref name="x"/>, <paramref name="labels"/>), as "accuracy 0.953".</summary>
    public static string Accuracy(Module<Tensor, Tensor> model, Tensor x, Tensor labels)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var predicted = model.call(x).argmax(1);
        var accuracy = predicted.eq(labels).to_type(ScalarType.Float64).mean().item<double>();
        return FormattableString.Invariant($"accuracy {accuracy:0.000}");
    }
}
