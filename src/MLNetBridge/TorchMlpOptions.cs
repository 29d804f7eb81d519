using Microsoft.ML;
using GradientHooks.Clipping;
using GradientHooks.Initialization;

namespace GradientHooks.MLNet;

/// <summary>
/// Everything a TorchMlp trainer can be told. The network is
/// <c>Linear → [BatchNorm1d] → activation</c> for each entry of <see cref="HiddenLayers"/>, then a linear output layer
/// (1 unit for regression and binary classification, K for K classes), trained with Adam on shuffled mini-batches.
/// Every step runs through a <see cref="GradientMonitor"/> and a <see cref="GuardedOptimizer"/> whose policy is
/// <c>Clip.Chain(Clip.SkipNonFinite(), Clipping)</c>, so a step with a NaN or infinite gradient is skipped, never applied.
/// </summary>
public sealed class TorchMlpOptions
{
    /// <summary>Label column: <c>Single</c> (regression), <c>Boolean</c> (binary) or a key type (multiclass). Default <c>"Label"</c>.</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Feature column: a known-size vector of <c>Single</c>. Default <c>"Features"</c>.</summary>
    public string FeatureColumnName { get; set; } = "Features";

    /// <summary>Width of each hidden layer, input side first; empty gives a linear model. Default <c>{64, 64}</c>.</summary>
    public int[] HiddenLayers { get; set; } = { 64, 64 };

    /// <summary>Activation after each hidden layer. Default <see cref="Activation.ReLU"/> (LeakyReLU uses slope 0.01).</summary>
    public Activation Activation { get; set; } = Activation.ReLU;

    /// <summary>Weight initialisation, applied by <see cref="Initialization.Init.Apply"/> with the gain of <see cref="Activation"/>. Default He normal.</summary>
    public InitScheme Init { get; set; } = InitScheme.HeNormal;

    /// <summary>Insert BatchNorm1d between each hidden Linear and its activation (<see cref="Layers.Normalization.InsertBatchNorm(TorchSharp.Modules.Sequential, Layers.NormalizationKind)"/>).
    /// For scoring, each BatchNorm is folded into the Linear before it with its running statistics.</summary>
    public bool BatchNorm { get; set; }

    /// <summary>Clipping applied after the non-finite guard on every step; <c>null</c> clips nothing. A stateful policy
    /// (Adaptive, ZScore) keeps its state across fits: give each fit a new one.</summary>
    public IClippingPolicy? Clipping { get; set; }

    /// <summary>Passes over the training data. Default 20.</summary>
    public int Epochs { get; set; } = 20;

    /// <summary>
    /// Rows per optimisation step. Default 0: chosen from the number of training rows n,
    /// B = clamp(n / 64, 32, 2048) (<see cref="AutomaticBatchSize"/>): about 64 steps per epoch on mid-sized data, never
    /// fewer than 32 rows a step; large data sets train in large, cheap steps (taxi-fare's 79,877 training rows: 1,248
    /// a step, 65 steps an epoch instead of 1,249 at 64 rows, at a higher accuracy with the annealed rate).
    /// </summary>
    public int BatchSize { get; set; }

    /// <summary>
    /// Adam's learning rate. Default 0: 1e-3 · √(max(B, 64) / 64) for the batch size B used
    /// (<see cref="AutomaticLearningRate"/>): Adam's usual 1e-3 up to 64 rows a step, scaled with the square root of larger
    /// batches as their gradient noise shrinks.
    /// </summary>
    public double LearningRate { get; set; }

    /// <summary>
    /// Set <see cref="LearningRate"/> to this to have the rate found by a learning-rate range test on the training data
    /// before the fit (<see cref="GradientHooks.LearningRateFinder"/>: 100 steps from 1e-7 to 10 on random batches of
    /// the training rows, the network and Adam restored afterwards), then train at its suggestion (falling back to
    /// <see cref="AutomaticLearningRate"/> when no rate made the loss fall). The sweep is on
    /// <see cref="TorchMlpTransformer.LearningRateSweep"/>.
    /// </summary>
    public const double FindLearningRate = -1;

    /// <summary>
    /// Measure the gradient noise scale while training (<see cref="MonitorOptions.TrackNoiseScale"/>): each batch's
    /// backward runs in two halves, reported as micro-batches, so that every step's record carries
    /// <see cref="StepRecord.NoiseScale"/> and the diagnosis can compare the batch with it. Same gradients (BatchNorm
    /// normalises each half on its own statistics), one more read of them per half. Default false.
    /// </summary>
    public bool TrackNoiseScale { get; set; }

    /// <summary>
    /// How the learning rate changes over the fit, stepped after every mini-batch. Default
    /// <see cref="MLNet.LearningRateSchedule.StableThenCosine"/>: <see cref="LearningRate"/> for the first 70 % of the
    /// steps, then annealed on a cosine towards 0. Measured on the corpus's ML.NET runs (seed 1, same batches):
    /// taxi-fare test R² 0.971 against 0.957 at a constant rate, bike-sharing 0.899 against 0.893, while iris (0.965),
    /// breast-cancer (AUC 0.993 against 0.994) and detox (0.889) keep what the constant rate reached; a cosine over the
    /// whole fit (<see cref="MLNet.LearningRateSchedule.Cosine"/>) lost on those three (iris 0.842), which learn
    /// at their full rate until the end. <see cref="MLNet.LearningRateSchedule.Constant"/> keeps Adam's rate fixed.
    /// </summary>
    public LearningRateSchedule LearningRateSchedule { get; set; } = LearningRateSchedule.StableThenCosine;

    /// <summary>
    /// Fraction of the training rows held out (a seeded random sample) to measure the validation loss after every
    /// epoch, for early stopping (<see cref="EarlyStoppingPatience"/>); the model returned is then the one of the epoch
    /// with the lowest validation loss. Default 0: off, every row trains, as FastTree's early stopping is off until a
    /// rule is set. Measured on taxi-fare (heavy-tailed fares): a 10 % hold-out stopped seed 1 at epoch 13 and its best
    /// epoch scored test R² 0.954, against 0.971 for 20 epochs on every row, because the validation loss of
    /// heavy-tailed data is as noisy as its batches. In [0, 0.5]. A validation set of its own goes to
    /// <c>Fit(trainData, validationData)</c> instead.
    /// </summary>
    public double ValidationFraction { get; set; }

    /// <summary>
    /// Early stopping, with a hold-out (<see cref="ValidationFraction"/> &gt; 0), as FastTree's rules do it: training stops
    /// when the validation loss has not improved by more than 0.1 % (relative) on its best for this many epochs in a
    /// row. Default 3; 0 = run every epoch (the best epoch's model is still the one returned).
    /// </summary>
    public int EarlyStoppingPatience { get; set; } = 3;

    /// <summary>The batch size used when <see cref="BatchSize"/> is 0: clamp(⌊rows / 64⌋, 32, 2048), never more than the rows.</summary>
    public static int AutomaticBatchSize(int rows) => Math.Max(1, Math.Min(rows, Math.Clamp(rows / 64, 32, 2048)));

    /// <summary>The learning rate used when <see cref="LearningRate"/> is 0: 1e-3 · √(max(batchSize, 64) / 64) (never below Adam's 1e-3).</summary>
    public static double AutomaticLearningRate(int batchSize) => 1e-3 * Math.Sqrt(Math.Max(batchSize, 64) / 64.0);

    /// <summary>Adam's L2 weight decay. Default 0.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Seed for the initial weights (<c>torch.manual_seed</c>) and the shuffling; the same seed on the same
    /// data and thread count gives the same model. <c>null</c>: not reproducible.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Monitor settings used during training. <c>null</c> (the default) checks every step for NaN/Inf and reads its
    /// loss, and takes full statistics (per-layer gradients, activations, update ratios) every N-th step, with
    /// N = clamp(steps per epoch / 6, 1, 10): at least six full captures per epoch, at most one in ten steps, as
    /// Lightning logs every n steps. On a small network a full capture costs about as much as the step itself
    /// (many tiny native calls); <c>new MonitorOptions()</c> takes full statistics on every step.
    /// </summary>
    public MonitorOptions? Monitor { get; set; }

    /// <summary>Where training runs (for example <c>torch.CUDA</c> with a CUDA backend package); <c>null</c>: the CPU.
    /// The data are moved once; monitoring reduces on this device and brings scalars back in one transfer; the
    /// scoring network is copied back to managed memory after training.</summary>
    public TorchSharp.torch.Device? Device { get; set; }

    /// <summary>The monitor settings used when <see cref="Monitor"/> is null, for <paramref name="stepsPerEpoch"/> steps per epoch.</summary>
    public static MonitorOptions DefaultMonitor(int stepsPerEpoch) => new() { Every = Math.Clamp(stepsPerEpoch / 6, 1, 10) };

    /// <summary>
    /// The <see cref="MLContext"/> whose <see cref="MLContext.Log"/> event receives the training's progress, as ML.NET's
    /// own trainers report: one Info message per epoch (<see cref="TorchMlpEpoch"/>'s line), and at the end the
    /// diagnosis, each Warning or Critical finding as a Warning message; source <c>"TorchMlp; Training"</c>. ML.NET keeps
    /// a catalog's environment internal, so the trainer cannot find the context by itself: pass the one you subscribed
    /// to (<c>Context = mlContext</c>). Null (default): no log messages.
    /// </summary>
    public MLContext? Context { get; set; }

    /// <summary>Receives one <see cref="TorchMlpEpoch"/> at the end of every epoch, with the loss, gradient
    /// statistics and the diagnosis so far.</summary>
    public IProgress<TorchMlpEpoch>? Progress { get; set; }

    internal TorchMlpOptions Validated()
    {
        static ArgumentOutOfRangeException Bad(string option, object? value, string expected) =>
            new(option, value, $"TorchMlpOptions.{option} must be {expected}; it was {value ?? "null"}.");

        if (string.IsNullOrWhiteSpace(LabelColumnName)) throw Bad(nameof(LabelColumnName), LabelColumnName, "a column name");
        if (string.IsNullOrWhiteSpace(FeatureColumnName)) throw Bad(nameof(FeatureColumnName), FeatureColumnName, "a column name");
        if (HiddenLayers is null) throw Bad(nameof(HiddenLayers), null, "an array of positive widths (empty for a linear model)");
        for (var i = 0; i < HiddenLayers.Length; i++)
            if (HiddenLayers[i] <= 0) throw Bad($"{nameof(HiddenLayers)}[{i}]", HiddenLayers[i], "a positive width");
        if (!Enum.IsDefined(Activation)) throw Bad(nameof(Activation), Activation, "a defined Activation");
        if (!Enum.IsDefined(Init)) throw Bad(nameof(Init), Init, "a defined InitScheme");
        if (!Enum.IsDefined(LearningRateSchedule)) throw Bad(nameof(LearningRateSchedule), LearningRateSchedule, "a defined LearningRateSchedule (StableThenCosine, Cosine or Constant)");
        if (Epochs <= 0) throw Bad(nameof(Epochs), Epochs, "positive");
        if (BatchSize < 0) throw Bad(nameof(BatchSize), BatchSize, "positive, or 0 to choose it from the number of rows");
        if (BatchNorm && BatchSize == 1) throw Bad(nameof(BatchSize), BatchSize, "at least 2 when BatchNorm is on (batch statistics need two rows)");
        if (!(LearningRate >= 0 || LearningRate == FindLearningRate) || double.IsInfinity(LearningRate)) throw Bad(nameof(LearningRate), LearningRate, "a positive finite number, 0 to scale it with the batch size, or TorchMlpOptions.FindLearningRate for a range test");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw Bad(nameof(WeightDecay), WeightDecay, "a finite number ≥ 0");
        if (!(ValidationFraction >= 0 && ValidationFraction <= 0.5)) throw Bad(nameof(ValidationFraction), ValidationFraction, "in [0, 0.5] (0 = no hold-out, no early stopping)");
        if (EarlyStoppingPatience < 0) throw Bad(nameof(EarlyStoppingPatience), EarlyStoppingPatience, "≥ 0 (0 runs every epoch)");
        return new TorchMlpOptions
        {
            LabelColumnName = LabelColumnName, FeatureColumnName = FeatureColumnName, HiddenLayers = (int[])HiddenLayers.Clone(),
            Activation = Activation, Init = Init, BatchNorm = BatchNorm, Clipping = Clipping, Epochs = Epochs,
            BatchSize = BatchSize, LearningRate = LearningRate, TrackNoiseScale = TrackNoiseScale, LearningRateSchedule = LearningRateSchedule, WeightDecay = WeightDecay, Seed = Seed, Monitor = Monitor, Device = Device,
            ValidationFraction = ValidationFraction, EarlyStoppingPatience = EarlyStoppingPatience, Context = Context,
            Progress = Progress,
        };
    }
}
