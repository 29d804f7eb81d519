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

    /// <summary>Rows per optimisation step. Default 64.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Adam's learning rate. Default 1e-3.</summary>
    public double LearningRate { get; set; } = 1e-3;

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

    /// <summary>Receives one <see cref="TorchMlpEpoch"/> at the end of every epoch, with the loss, gradient
    /// statistics and the diagnosis so far (ML.NET keeps a catalog's <c>MLContext.Log</c> internal, so progress goes here).</summary>
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
        if (Epochs <= 0) throw Bad(nameof(Epochs), Epochs, "positive");
        if (BatchSize <= 0) throw Bad(nameof(BatchSize), BatchSize, "positive");
        if (BatchNorm && BatchSize < 2) throw Bad(nameof(BatchSize), BatchSize, "at least 2 when BatchNorm is on (batch statistics need two rows)");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw Bad(nameof(LearningRate), LearningRate, "a positive finite number");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw Bad(nameof(WeightDecay), WeightDecay, "a finite number ≥ 0");
        return new TorchMlpOptions
        {
            LabelColumnName = LabelColumnName, FeatureColumnName = FeatureColumnName, HiddenLayers = (int[])HiddenLayers.Clone(),
            Activation = Activation, Init = Init, BatchNorm = BatchNorm, Clipping = Clipping, Epochs = Epochs,
            BatchSize = BatchSize, LearningRate = LearningRate, WeightDecay = WeightDecay, Seed = Seed, Monitor = Monitor, Device = Device,
            Progress = Progress,
        };
    }
}
