using System.Diagnostics;
using GradientHooks.Clipping;
using GradientHooks.MLNet.Data;
using GradientHooks.MLNet.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.MLNet.Training;

/// <summary>
/// The training loop behind every TorchMlp: the whole data set on the training device (the features as one tensor, or,
/// sparse and wide, as CSR densified one batch at a time: <see cref="FeatureRows"/>), a fresh <c>randperm</c> each
/// epoch, mini-batches by <c>index_select</c>, Adam through a <see cref="GuardedOptimizer"/>
/// (its learning rate annealed after every mini-batch by <see cref="TorchMlpOptions.LearningRateSchedule"/>)
/// whose policy is <c>Clip.Chain(Clip.SkipNonFinite(), options.Clipping)</c>, the loss captured with the
/// gradients in one transfer, every step inside its own dispose scope. Regression trains on the standardised label
/// z = (y − mean)/std (std = 1 when the label is constant), which the scoring network undoes. With a hold-out
/// (<see cref="TorchMlpOptions.ValidationFraction"/>) or a validation set the validation loss is measured after every
/// epoch, training stops early by <see cref="EarlyStopping"/>, and the best epoch's network is the one returned.
/// </summary>
internal static class TorchMlpTraining
{
    /// <summary>Trains on <paramref name="data"/>; with <paramref name="validationSet"/>, its rows give the validation loss
    /// and early stopping instead of a hold-out (regression labels standardised with the training rows' mean and std).</summary>
    public static TrainingResult Train(TrainingData data, TorchMlpTask task, int classCount, TorchMlpOptions options, TrainingData? validationSet = null)
    {
        if (options.BatchNorm && data.Rows < 2)
            throw new InvalidOperationException($"TorchMlp with BatchNorm needs at least 2 training rows; the data has {data.Rows}.");
        if (options.Seed is int seed) torch.manual_seed(seed);
        var (labelMean, labelScale) = task == TorchMlpTask.Regression ? MeanAndStd(data.Labels) : (0.0, 1.0);
        var outputs = task == TorchMlpTask.MulticlassClassification ? classCount : 1;

        var device = options.Device ?? torch.CPU;
        using var allX = FeatureRows.From(data, device);
        using var allY = MakeLabels(data, task, labelMean, labelScale, device);
        using var model = NetworkBuilder.Build(data.FeatureCount, options.HiddenLayers, outputs, options.Activation, options.BatchNorm, options.Init);
        if (device.type != DeviceType.CPU) model.to(device);
        using var split = validationSet is null
            ? HoldOut.Split(allX, allY, options.ValidationFraction, options.BatchNorm)
            : HoldOut.WithValidation(allX.Share(), allY.alias(), FeatureRows.From(validationSet, device), MakeLabels(validationSet, task, labelMean, labelScale, device));
        var x = split.TrainX;
        var y = split.TrainY;
        var rows = (int)x.Count;
        var batchSize = options.BatchSize > 0 ? Math.Min(options.BatchSize, rows) : TorchMlpOptions.AutomaticBatchSize(rows);
        var learningRate = options.LearningRate > 0 ? options.LearningRate : TorchMlpOptions.AutomaticLearningRate(batchSize);
        var monitorOptions = options.Monitor ?? TorchMlpOptions.DefaultMonitor((rows + batchSize - 1) / batchSize);
        if (options.TrackNoiseScale) monitorOptions = monitorOptions with { TrackNoiseScale = true };
        using var monitor = GradientMonitor.Attach(model, monitorOptions);
        var policy = options.Clipping is null ? Clip.SkipNonFinite() : Clip.Chain(Clip.SkipNonFinite(), options.Clipping);
        using var optimizer = monitor.Guard(optim.Adam(model.parameters(), learningRate, weight_decay: options.WeightDecay), policy);
        LearningRateSweep? sweep = null;
        if (options.LearningRate == TorchMlpOptions.FindLearningRate)
        {
            sweep = RangeTest(model, optimizer, task, x, y, batchSize);
            learningRate = sweep.Suggested ?? learningRate;
            foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;
        }

        var schedule = LearningRateSchedules.Create(options.LearningRateSchedule, optimizer, options.Epochs * ((rows + batchSize - 1) / batchSize));
        using var log = TrainingLog.Open(options.Context);
        var history = new List<TorchMlpEpoch>(options.Epochs);
        var stopping = new EarlyStopping(options.EarlyStoppingPatience);
        ScoringNetwork? best = null;
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var tally = new EpochTally();
            model.train();
            using (var epochScope = torch.NewDisposeScope())
            {
                var order = torch.randperm(rows, device: device);
                for (var start = 0; start < rows; start += batchSize)
                {
                    var count = Math.Min(batchSize, rows - start);
                    if (count == 1 && options.BatchNorm && start > 0) continue; // BatchNorm cannot train on one row
                    using var stepScope = torch.NewDisposeScope();
                    var index = order.narrow(0, start, count);
                    optimizer.zero_grad();
                    var loss = options.TrackNoiseScale && count >= (options.BatchNorm ? 4 : 2)
                        ? InHalves(model, monitor, task, x, y, index)
                        : Backward(model, task, x, y, index);
                    var step = monitor.Capture(loss);
                    optimizer.step(); // clips or skips, and records what it did on the same record
                    schedule?.step();
                    tally.Add(step);
                }
            }
            double? validation = split.HasValidation ? ValidationLoss(model, task, split.ValidX!, split.ValidY!, batchSize) : null;
            var diagnosis = TorchMlpRemedies.Restate(monitor.Diagnose(), options, learningRate);
            var record = tally.ToEpoch(epoch, clock.Elapsed, diagnosis) with { ValidationLoss = validation, LearningRate = LearningRateSchedules.Current(optimizer) };
            history.Add(record);
            options.Progress?.Report(record);
            log?.Epoch(record);
            if (validation is double v && stopping.Improved(v)) best = NetworkExport.ToScoring(model, labelMean, labelScale);
            if (validation is not null && stopping.ShouldStop) break;
        }

        model.eval();
        log?.Final(history[^1].Diagnosis, history.Count, options.Epochs);
        var network = best ?? NetworkExport.ToScoring(model, labelMean, labelScale);
        return new TrainingResult(network, history, history[^1].Diagnosis, monitor.History.ToArray()) { RangeTest = sweep }; // the last epoch's diagnosis is the final one
    }

    /// <summary>The batch's loss, and its backward.</summary>
    private static Tensor Backward(nn.Module<Tensor, Tensor> model, TorchMlpTask task, FeatureRows x, Tensor y, Tensor index)
    {
        var loss = Loss(task, model.call(x.Gather(index)), y.index_select(0, index));
        loss.backward();
        return loss;
    }

    /// <summary>
    /// The batch in two micro-batches for the noise scale: each half's mean loss weighted by its share of the rows (so the
    /// accumulated gradient is the whole batch's), backward, reported; returns the batch's loss.
    /// </summary>
    private static Tensor InHalves(nn.Module<Tensor, Tensor> model, GradientMonitor monitor, TorchMlpTask task, FeatureRows x, Tensor y, Tensor index)
    {
        long count = index.shape[0], first = count / 2;
        Tensor? total = null;
        foreach (var (start, length) in new[] { (0L, first), (first, count - first) })
        {
            var part = index.narrow(0, start, length);
            // Weighted by its share of the rows, so the two add up to the batch mean: 1/2 each, as the accumulation
            // convention has it, for an even batch (an odd one is off by 1/count in the noise scale's estimate).
            var loss = Loss(task, model.call(x.Gather(part)), y.index_select(0, part)) * ((double)length / count);
            loss.backward();
            monitor.CaptureMicroBatch(length);
            total = total is null ? loss.detach() : total + loss.detach();
        }
        return total!;
    }

    /// <summary>
    /// The range test on the training rows (<see cref="TorchMlpOptions.FindLearningRate"/>): 100 steps from 1e-7 to 10,
    /// each on the next batch of a random order of the rows; the network and Adam are restored afterwards.
    /// </summary>
    private static LearningRateSweep RangeTest(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, TorchMlpTask task, FeatureRows x, Tensor y, int batchSize)
    {
        long rows = x.Count;
        using var order = torch.randperm(rows, device: y.device);
        long next = 0;
        model.train();
        return LearningRateFinder.Run(model, optimizer, () =>
        {
            if (next + batchSize > rows) next = 0;
            long count = Math.Min(batchSize, rows - next);
            var index = order.narrow(0, next, count);
            next += count;
            return Loss(task, model.call(x.Gather(index)), y.index_select(0, index));
        });
    }

    /// <summary>
    /// The task's loss on the held-out rows, in eval mode (BatchNorm's running statistics), without gradients, in
    /// chunks of the batch size (so sparse rows are dense one batch at a time): Σ chunk mean · chunk rows / rows.
    /// </summary>
    private static double ValidationLoss(nn.Module<Tensor, Tensor> model, TorchMlpTask task, FeatureRows x, Tensor y, int chunk)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        long rows = x.Count;
        double total = 0;
        for (long start = 0; start < rows; start += chunk)
        {
            using var scope = torch.NewDisposeScope();
            long count = Math.Min(chunk, rows - start);
            var index = torch.arange(start, start + count, dtype: ScalarType.Int64, device: y.device);
            total += Loss(task, model.call(x.Gather(index)), y.narrow(0, start, count)).to_type(ScalarType.Float64).cpu().item<double>() * count;
        }
        return total / rows;
    }

    private static Tensor Loss(TorchMlpTask task, Tensor output, Tensor target) => task switch
    {
        TorchMlpTask.Regression => nn.functional.mse_loss(output, target),
        TorchMlpTask.BinaryClassification => nn.functional.binary_cross_entropy_with_logits(output, target),
        _ => nn.functional.cross_entropy(output, target),
    };

    private static Tensor MakeLabels(TrainingData data, TorchMlpTask task, double mean, double scale, Device device)
    {
        if (task == TorchMlpTask.MulticlassClassification)
            return torch.tensor(data.Labels.Select(v => (long)v).ToArray(), device: device);
        var values = task == TorchMlpTask.Regression
            ? data.Labels.Select(v => (float)((v - mean) / scale)).ToArray()
            : data.Labels;
        return torch.tensor(values, new long[] { data.Rows, 1 }, device: device);
    }

    /// <summary>Mean and population standard deviation of the labels, in double; std = 1 for a constant label.</summary>
    private static (double Mean, double Std) MeanAndStd(float[] labels)
    {
        double sum = 0, sumSq = 0;
        foreach (var v in labels) sum += v;
        var mean = sum / labels.Length;
        foreach (var v in labels) sumSq += (v - mean) * (v - mean);
        var std = Math.Sqrt(sumSq / labels.Length);
        return (mean, std > 0 && double.IsFinite(std) ? std : 1.0);
    }
}
