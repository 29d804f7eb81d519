namespace GradientHooks.Diagnostics;

/// <summary>What a finding is about.</summary>
public enum FindingKind
{
    /// <summary>Early layers' gradients orders of magnitude below late layers'.</summary>
    VanishingGradients,
    /// <summary>Gradient norms growing geometrically, spiking far above their median, or early layers far above late ones.</summary>
    ExplodingGradients,
    /// <summary>NaN or Inf in a gradient.</summary>
    NonFiniteGradients,
    /// <summary>ReLU units that output zero for the whole batch, step after step.</summary>
    DyingRelu,
    /// <summary>Sigmoid/tanh outputs mostly in the flat region of the curve.</summary>
    SaturatedActivations,
    /// <summary>The loss has not moved over the window and had not fallen before it.</summary>
    LossPlateau,
    /// <summary>The loss jumps up and down by a large fraction of its level, or rises.</summary>
    LossOscillation,
    /// <summary>Too few captured steps to judge.</summary>
    NotEnoughData,
    /// <summary>Activation hooks that never fire (modules called with <c>.forward()</c>) or functional activations: what is and is not measured (information).</summary>
    ActivationsNotObserved,
    /// <summary>The guard restored an earlier snapshot of the weights and optimizer state (non-finite weights or state, or too many skipped steps).</summary>
    TrainingRolledBack,
    /// <summary>
    /// The loop never zeroes the gradients between updates: each <c>backward()</c> adds to the last, and every step applies
    /// the sum of all the gradients so far. Seen by the guard (no <c>zero_grad()</c> between two <c>step()</c> calls) and
    /// confirmed by the gradients themselves (they grow as a running sum).
    /// </summary>
    GradientsNotZeroed,
    /// <summary>Inputs (or targets) on a raw scale: features far from mean 0 and standard deviation 1, or a first loss far above what standardised targets give.</summary>
    UnscaledInputs,
    /// <summary>Updates too large for the weights: ‖Δw‖/‖w‖ per step far above the usual 1e−3, with the damage that follows.</summary>
    LearningRateTooHigh,
    /// <summary>Updates too small to move the loss: ‖Δw‖/‖w‖ far below the usual 1e−3 while gradients flow and the loss stays flat.</summary>
    LearningRateTooLow,
    /// <summary>The layers' data-flow order could only be taken from declaration order (information).</summary>
    LayerOrderUnknown,
    /// <summary>Trainable layers that received no gradient (information): never used in <c>forward()</c>, or cut off from the loss.</summary>
    UnusedLayers,
    /// <summary>
    /// A float16 (or bfloat16) model's gradients are mostly exactly zero because they are smaller than the format's
    /// smallest subnormal (float16: 2⁻²⁴ ≈ 6.0e-8): vanishing by rounding, not by the network. Remedy: loss scaling.
    /// </summary>
    GradientUnderflow,
    /// <summary>
    /// The optimizer steps float16 parameters directly: its ε (1e-8 for Adam) rounds to 0 in float16, so a parameter whose
    /// gradient and second moment are 0 is updated by 0/0 = NaN, and updates below half a float16 ulp are lost. Remedy:
    /// float32 master weights.
    /// </summary>
    LowPrecisionOptimizer,
    /// <summary>
    /// The loss scale keeps falling: the scaled gradients overflow step after step, so the scaler backs off again and
    /// again and most updates are skipped. The gradients overflow even near scale 1: they are too large, or NaN in themselves.
    /// </summary>
    LossScaleCollapse,
    /// <summary>
    /// Information: the batch is far from the gradient noise scale B_simple = tr(Σ)/|G|² (McCandlish et al. 2018,
    /// measured with <see cref="MonitorOptions.TrackNoiseScale"/>): ×10 below it, each step's gradient is mostly noise and
    /// larger batches (with a proportionally larger rate) would need fewer steps; ×10 above it, the extra examples buy little.
    /// </summary>
    BatchSizeVsNoiseScale,
}
