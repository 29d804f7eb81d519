namespace GradientHooks.Diagnostics;

/// <summary>The fixes the diagnosis can recommend.</summary>
public enum RemedyKind
{
    /// <summary>A fix outside the catalogue.</summary>
    Other,
    /// <summary>He (Kaiming) initialisation.</summary>
    HeInit,
    /// <summary>Xavier (Glorot) initialisation.</summary>
    XavierInit,
    /// <summary>Replace sigmoid/tanh with ReLU.</summary>
    SwapToRelu,
    /// <summary>Replace ReLU with LeakyReLU or ELU.</summary>
    SwapToLeakyRelu,
    /// <summary>Batch (or layer) normalisation before the activations.</summary>
    BatchNorm,
    /// <summary>Clip the total gradient norm.</summary>
    GlobalNormClipping,
    /// <summary>Skip steps with NaN/Inf gradients.</summary>
    SkipNonFinite,
    /// <summary>Lower the learning rate.</summary>
    LowerLearningRate,
    /// <summary>Raise (check) the learning rate.</summary>
    RaiseLearningRate,
    /// <summary>Look for the source of NaN in the data and the loss.</summary>
    CheckInputs,
    /// <summary>Call activation modules with <c>.call()</c> so their hooks fire.</summary>
    CallModules,
    /// <summary>Guard with <see cref="GradientHooks.RollbackOptions"/>: restore the last good weights and optimizer state.</summary>
    Rollback,
    /// <summary>Zero the gradients once per update: <c>optimizer.zero_grad()</c>.</summary>
    ZeroGradients,
    /// <summary>Standardise the input features (and a regression target).</summary>
    StandardizeInputs,
    /// <summary>Scale the loss before backward (<see cref="Precision.LossScaler"/>), or start from a larger scale.</summary>
    LossScaling,
    /// <summary>Step float32 master weights of a float16/bfloat16 model (<see cref="Precision.MasterWeights"/>).</summary>
    MasterWeights,
    /// <summary>Run a learning-rate range test (<see cref="GradientHooks.LearningRateFinder"/>) and train at its suggestion.</summary>
    RangeTest,
    /// <summary>Train with a batch near the gradient noise scale (<see cref="StepRecord.NoiseScale"/>).</summary>
    BatchSize,
}
