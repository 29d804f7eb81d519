namespace GradientHooks.MLNet;

/// <summary>How a TorchMlp's learning rate η changes over the T steps of a fit (T = epochs × steps per epoch), stepped
/// after every mini-batch (<see cref="TorchMlpOptions.LearningRateSchedule"/>).</summary>
public enum LearningRateSchedule
{
    /// <summary>η for the first 70 % of the steps, then annealed on a cosine to 0 over the last 30 % (the
    /// warmup-stable-decay shape of Hu et al. 2024, MiniCPM, without the warm-up, which Adam's bias correction makes
    /// unnecessary at these rates): at step t, η_t = η for t &lt; S, η · (1 + cos(π · (t − S) / (T − S))) / 2 after,
    /// S = T − ⌊0.3 · T⌋. Short runs keep their full rate for most of their steps; long runs settle into the minimum
    /// at the end.</summary>
    StableThenCosine,

    /// <summary>Cosine annealing over the whole fit (PyTorch's <c>CosineAnnealingLR</c> with <c>T_max</c> = T and
    /// <c>eta_min</c> = 0): η_t = η · (1 + cos(π · t / T)) / 2.</summary>
    Cosine,

    /// <summary>η on every step, as a plain <c>optim.Adam</c> loop has it.</summary>
    Constant,
}
