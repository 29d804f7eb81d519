using GradientHooks.Initialization;

namespace GradientHooks.Diagnostics;

/// <summary>
/// What the diagnosis knows about the model besides its gradients, gathered by <see cref="GradientMonitor"/> at
/// attach and kept up to date while training: how it is built (a Sequential or a custom module), its activation
/// modules and whether their forward hooks ever fired, its normalisation layers, the scale of each Linear/Conv
/// weight when the monitor attached, and the clipping policy of the guard. Remedies are chosen from it, so that a
/// finding never recommends what is already in place or a call that does not work on this model.
/// </summary>
public sealed record ModelProfile
{
    /// <summary>The model's type name, e.g. <c>Sequential</c> or <c>DigitCnn</c>.</summary>
    public string ModelType { get; init; } = "";

    /// <summary>True when the model is a <c>torch.nn.Sequential</c> (so the Sequential-only helpers apply).</summary>
    public bool IsSequential { get; init; }

    /// <summary>Activation modules found among the model's submodules (fields, ModuleList/ModuleDict entries, nested containers).</summary>
    public IReadOnlyList<ActivationModule> Activations { get; init; } = Array.Empty<ActivationModule>();

    /// <summary>
    /// Activations applied as functions in a <c>forward()</c> (<c>functional.relu(x)</c>, <c>x.sigmoid()</c>), found by
    /// reading the IL of each custom module's forward methods: invisible to hooks and to module swaps.
    /// </summary>
    public IReadOnlyList<FunctionalActivation> FunctionalActivations { get; init; } = Array.Empty<FunctionalActivation>();

    /// <summary>Paths of normalisation modules (BatchNorm, LayerNorm, GroupNorm, InstanceNorm).</summary>
    public IReadOnlyList<string> Normalization { get; init; } = Array.Empty<string>();

    /// <summary>Every Linear/Conv layer with a trainable weight, in data-flow order once the first step is captured (parameter order before), with its weight scale at attach.</summary>
    public IReadOnlyList<LayerScale> Layers { get; init; } = Array.Empty<LayerScale>();

    /// <summary>The layers in data-flow order, known from the first captured step on; null before.</summary>
    public LayerOrder? LayerOrder { get; init; }

    /// <summary>What decided <see cref="LayerOrder"/>: pre-hooks, the IL of <c>forward()</c>, or declaration order (also before the first step).</summary>
    public LayerOrderSource LayerOrderSource => LayerOrder?.Source ?? LayerOrderSource.Declaration;

    /// <summary>The scale of the model's input over the first batches, when a pre-hook saw a floating-point input; null otherwise.</summary>
    public InputScale? Input { get; init; }

    /// <summary>The guard's clipping policy, as written (<c>Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1))</c>); null when no guard or no policy.</summary>
    public string? Clipping { get; init; }

    /// <summary>True when the guard's policy bounds the gradient (value, norm, adaptive, AGC or ZClip clipping), not only skips non-finite steps.</summary>
    public bool ClipsGradients { get; init; }

    /// <summary>True when the guard rolls back (<see cref="GradientHooks.RollbackOptions"/>).</summary>
    public bool RollsBack { get; init; }

    /// <summary>The guard's rollbacks so far (empty without rollback).</summary>
    public IReadOnlyList<RollbackEvent> Rollbacks { get; init; } = Array.Empty<RollbackEvent>();

    /// <summary>The guarded optimizer's type, e.g. <c>Adam</c>; null without a guard.</summary>
    public string? Optimizer { get; init; }

    /// <summary>The guarded optimizer's ε (Adam, AdamW, RMSprop, Adagrad), or null (SGD, no guard).</summary>
    public double? OptimizerEpsilon { get; init; }

    /// <summary>True when the guard steps float32 master weights (<see cref="Precision.MasterWeights"/>).</summary>
    public bool MasterWeights { get; init; }

    /// <summary>The guard's loss scaler as written (<see cref="Precision.LossScaler.ToString"/>), or null when the loss is not scaled.</summary>
    public string? LossScaling { get; init; }

    /// <summary>The guarded optimizer's learning rate (its first parameter group's) when the profile was taken; null without a guard.</summary>
    public double? LearningRate { get; init; }

    /// <summary>The last learning-rate range test run on this model (<see cref="LearningRateFinder.Run"/>), or null; learning-rate remedies then name its rate.</summary>
    public RangeTestSummary? RangeTest { get; init; }

    /// <summary>True when the model holds RNN, LSTM or GRU layers.</summary>
    public bool Recurrent { get; init; }

    /// <summary>Fully captured steps so far; hooks that never fired over this many steps are <see cref="ActivationModule.Fired"/> = false.</summary>
    public long CapturedSteps { get; init; }

    /// <summary>True when some activation, module or functional, is a ReLU, ReLU6 or LeakyReLU.</summary>
    public bool HasRectifiers => Activations.Any(a => a.Family == ActivationFamily.Rectifier)
        || FunctionalActivations.Any(f => f.Activation is Activation.ReLU or Activation.LeakyReLU);

    /// <summary>True when some activation, module or functional, is a Sigmoid or Tanh.</summary>
    public bool HasSaturating => Activations.Any(a => a.Family == ActivationFamily.Saturating)
        || FunctionalActivations.Any(f => f.Activation is Activation.Sigmoid or Activation.Tanh);

    /// <summary>True when the model has no activation module at all: its non-linearities, if any, are functional calls in <c>forward()</c>.</summary>
    public bool ActivationsAreFunctional => Activations.Count == 0;

    /// <summary>True when some normalisation module is present.</summary>
    public bool HasNormalization => Normalization.Count > 0;

    /// <summary>Hooked activation modules whose hook never fired over <see cref="CapturedSteps"/> steps: the forward calls them with <c>.forward()</c>, not <c>.call()</c>.</summary>
    public IReadOnlyList<ActivationModule> SilentActivations => Activations.Where(a => a.Hooked && !a.Fired).ToList();

    /// <summary>
    /// True when every Linear/Conv layer but the last started with He's scale for ReLU, √(fan_in·E[w²]) within 15 %
    /// of √2 (He et al. 2015), so recommending He initialisation would change nothing.
    /// </summary>
    public bool HeInitialized => Layers.Count >= 2 && Layers.Take(Layers.Count - 1).All(l => Math.Abs(l.WeightScale / Math.Sqrt(2) - 1) <= 0.15);
}

/// <summary>An activation module of the model.</summary>
/// <param name="Path">Module path, e.g. <c>relu1</c> or <c>encoder.2</c>.</param>
/// <param name="Type">Module type, e.g. <c>ReLU</c>.</param>
/// <param name="Activation">The activation it computes.</param>
/// <param name="Family">Rectifier or saturating, when the monitor measures it; null for ELU, SELU, GELU and others.</param>
/// <param name="Hooked">True when the monitor put a forward hook on it.</param>
/// <param name="Fired">True when its hook ran in a training forward pass; false for a module the forward calls with <c>.forward()</c>.</param>
public sealed record ActivationModule(string Path, string Type, Activation Activation, ActivationFamily? Family, bool Hooked, bool Fired);

/// <summary>An activation applied as a function in a module's forward method.</summary>
/// <param name="Method">The method, e.g. <c>FunctionalSigmoidNet.forward</c>.</param>
/// <param name="Function">The function called, e.g. <c>functional.sigmoid</c> or <c>Tensor.relu_</c>.</param>
/// <param name="Activation">What it computes.</param>
/// <param name="Calls">Call sites in that method.</param>
public sealed record FunctionalActivation(string Method, string Function, Activation Activation, int Calls);

/// <summary>A Linear or Conv layer and the scale of its weight when the monitor attached.</summary>
/// <param name="Layer">Module path, e.g. <c>fc1</c>.</param>
/// <param name="Module">Module type, e.g. <c>Conv2d</c>.</param>
/// <param name="Units">Output units (out_features or out_channels).</param>
/// <param name="FanIn">Inputs per unit (in_features, or in_channels × kernel size).</param>
/// <param name="WeightScale">
/// √(fan_in · E[w²]): the factor by which the layer scales its input's RMS before the activation. He initialisation for
/// ReLU gives √2 ≈ 1.41, LeCun and square Xavier 1, PyTorch's default uniform 1/√3 ≈ 0.58.
/// </param>
public sealed record LayerScale(string Layer, string Module, int Units, long FanIn, double WeightScale);

/// <summary>What the diagnosis keeps of a learning-rate range test (<see cref="LearningRateSweep"/>).</summary>
/// <param name="Suggested">The rate the test suggests, or null when no rate made the loss fall.</param>
/// <param name="DivergedAt">The rate at which the loss diverged, or null.</param>
/// <param name="Steepest">The rate of the steepest fall of the loss, or null.</param>
public sealed record RangeTestSummary(double? Suggested, double? DivergedAt, double? Steepest)
{
    /// <summary>The summary of <paramref name="sweep"/>.</summary>
    public static RangeTestSummary Of(LearningRateSweep sweep) => new(sweep.Suggested, sweep.DivergedAt, sweep.Steepest);

    /// <summary>"the loss diverged at 0.03" or "the loss did not diverge up to 10", for an explanation.</summary>
    public string Explanation => DivergedAt is double d ? $"range test: the loss diverged at {LearningRateSweep.Format(d)}" : "range test: the loss did not diverge";
}
