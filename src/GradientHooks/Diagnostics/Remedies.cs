namespace GradientHooks.Diagnostics;

/// <summary>The remedies findings recommend, each with the call that applies it.</summary>
public static class Remedies
{
    /// <summary>He/Kaiming initialisation for ReLU-family layers.</summary>
    public static Remedy HeInit { get; } = new("He initialization",
        "Weights with std √(2/fan_in) keep ReLU activations' variance constant through depth: Init.Apply(model, InitScheme.HeNormal)") { Kind = RemedyKind.HeInit };

    /// <summary>Xavier/Glorot initialisation for tanh/sigmoid layers.</summary>
    public static Remedy XavierInit { get; } = new("Xavier (Glorot) initialization",
        "Weights with std g·√(2/(fan_in+fan_out)) balance forward and backward variance for tanh/sigmoid: Init.Apply(model, InitScheme.XavierNormal)") { Kind = RemedyKind.XavierInit };

    /// <summary>Swap saturating activations for ReLU.</summary>
    public static Remedy SwapToRelu { get; } = new("Non-saturating activation",
        "σ'(x) ≤ 1/4 shrinks the signal at every layer; ReLU's derivative is 1 for x > 0: model = ActivationSwap.Replace(model, Activation.Sigmoid, Activation.ReLU) (or Activation.LeakyReLU / Activation.ELU), then Init.Apply(model, InitScheme.HeNormal)") { Kind = RemedyKind.SwapToRelu, To = Initialization.Activation.ReLU };

    /// <summary>Insert batch normalisation before activations.</summary>
    public static Remedy BatchNorm { get; } = new("Batch normalization",
        "Normalising each layer's pre-activations keeps them out of saturation and the per-layer gain near one: model = Normalization.InsertBatchNorm(model) (NormalizationKind.LayerNorm for recurrent nets or small batches)") { Kind = RemedyKind.BatchNorm };

    /// <summary>Clip the global gradient norm.</summary>
    public static Remedy GlobalNormClipping { get; } = new("Gradient norm clipping",
        "Rescale the whole gradient when its norm exceeds a limit, keeping its direction: optimizer = monitor.Guard(optimizer, Clip.GlobalNorm(1.0)) (or Clip.Adaptive() to pick the limit from the norm history)") { Kind = RemedyKind.GlobalNormClipping };

    /// <summary>Clip the global norm: the standard fix for recurrent networks.</summary>
    public static Remedy RecurrentClipping { get; } = new("Norm clipping for recurrent layers",
        "Exploding gradients in RNNs come from repeated multiplication by the recurrent weights (Pascanu et al. 2013); clipping the norm is the usual fix: optimizer = monitor.Guard(optimizer, Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1.0)))") { Kind = RemedyKind.GlobalNormClipping };

    /// <summary>Skip steps with NaN/Inf gradients.</summary>
    public static Remedy SkipNonFinite { get; } = new("Skip non-finite steps",
        "Zero NaN/Inf gradients and skip that update so one bad batch cannot destroy the weights: optimizer = monitor.Guard(optimizer, Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1.0)))") { Kind = RemedyKind.SkipNonFinite };

    /// <summary>Keep the last good weights and optimizer state and restore them when training is damaged.</summary>
    public static Remedy Rollback { get; } = new("Roll back to the last good state",
        "The guard keeps a copy of the weights and optimizer state every 100 updates and restores it when they turn NaN/Inf or 10 updates in a row are skipped, halving the learning rate: optimizer = monitor.Guard(optimizer, Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(1.0)), new RollbackOptions { LearningRateFactor = 0.5 })") { Kind = RemedyKind.Rollback };

    /// <summary>Scale the loss so float16 gradients stay above the format's smallest subnormal.</summary>
    public static Remedy LossScaling { get; } = new("Loss scaling",
        "Multiply the loss by a scale s before backward() so float16 gradients are s times larger and stay above 6.0e-8; the guard divides them by s again and skips a step that overflowed: var scaler = new LossScaler(); optimizer = monitor.Guard(optimizer, clipping, new GuardOptions { LossScaler = scaler }); then scaler.Scale(loss).backward();") { Kind = RemedyKind.LossScaling };

    /// <summary>Float32 master weights for a float16/bfloat16 model.</summary>
    public static Remedy MasterWeights { get; } = new("Float32 master weights",
        "Let the optimizer step float32 copies of the float16 weights, so its ε and its small updates are representable; the guard writes them back after each step: var master = new MasterWeights(model); optimizer = monitor.Guard(torch.optim.Adam(master.parameters(), lr), clipping, new GuardOptions { MasterWeights = master, LossScaler = new LossScaler() });") { Kind = RemedyKind.MasterWeights };

    /// <summary>Lower the learning rate.</summary>
    public static Remedy LowerLearningRate { get; } = new("Lower learning rate",
        "Too large a step overshoots and feeds back into larger gradients: foreach (var g in optimizer.ParamGroups) g.LearningRate /= 10;") { Kind = RemedyKind.LowerLearningRate };

    /// <summary>Swap ReLU for LeakyReLU (or ELU).</summary>
    public static Remedy SwapToLeakyRelu { get; } = new("LeakyReLU or ELU",
        "A negative slope keeps a gradient flowing through units that would be dead: model = ActivationSwap.Replace(model, Activation.ReLU, Activation.LeakyReLU) (or Activation.ELU)") { Kind = RemedyKind.SwapToLeakyRelu, From = Initialization.Activation.ReLU, To = Initialization.Activation.LeakyReLU };

    /// <summary>Check the data and the loss for the source of NaN.</summary>
    public static Remedy CheckInputs { get; } = new("Check inputs and loss",
        "NaN often starts in the data (missing values), in log/sqrt/division of the loss, or after an overflow; look at the first parameter named above and the batch of that step") { Kind = RemedyKind.CheckInputs };

    /// <summary>Zero the gradients once per update.</summary>
    public static Remedy ZeroGradients { get; } = new("Zero the gradients every step",
        "backward() adds to what is in p.grad; without zeroing, each step applies the sum of every gradient so far. Call optimizer.zero_grad(); once per step, before loss.backward() (with gradient accumulation: after optimizer.step())") { Kind = RemedyKind.ZeroGradients };

    /// <summary>Standardise the inputs (and a regression target).</summary>
    public static Remedy StandardizeInputs { get; } = new("Standardise the inputs",
        "Scale every feature to mean 0 and standard deviation 1 with the training set's statistics, and a regression target too (predict (y − mean)/std, undo it on the output): var mean = x.mean(new long[] { 0 }, keepdim: true); var std = x.std(0, keepdim: true).clamp_min(1e-8); x = (x - mean) / std; keep mean and std to transform new data the same way") { Kind = RemedyKind.StandardizeInputs };

    /// <summary>Lower the learning rate by <paramref name="factor"/>.</summary>
    public static Remedy LowerLearningRateBy(double factor, string why) => new("Lower learning rate",
        $"{why}: foreach (var g in optimizer.ParamGroups) g.LearningRate /= {Number(factor)};") { Kind = RemedyKind.LowerLearningRate, Factor = factor };

    /// <summary>Set the learning rate to what a range test suggested, lower or higher than <paramref name="current"/>.</summary>
    public static Remedy LearningRateFromRangeTest(RangeTestSummary test, double rate, double? current)
    {
        bool lower = current is not double now || rate < now;
        string title = lower ? "Lower learning rate" : "Raise learning rate";
        string to = $"{(lower ? "lower" : "raise")} the learning rate to about {LearningRateSweep.Format(rate)} ({test.Explanation}{(current is double c ? $"; now {LearningRateSweep.Format(c)}" : "")})";
        return new Remedy(title, $"{char.ToUpperInvariant(to[0])}{to[1..]}: foreach (var g in optimizer.ParamGroups) g.LearningRate = {LearningRateSweep.Format(rate)};")
        {
            Kind = lower ? RemedyKind.LowerLearningRate : RemedyKind.RaiseLearningRate,
            Rate = rate,
            Factor = current is double n && n > 0 ? (lower ? n / rate : rate / n) : null,
        };
    }

    /// <summary>Measure the rate instead of guessing it: a learning-rate range test.</summary>
    public static Remedy RangeTest { get; } = new("Learning-rate range test",
        "Sweep the rate from 1e-7 to 10 over 100 steps, stop where the loss diverges, and train at the suggestion (the model and optimizer are restored afterwards): var sweep = LearningRateFinder.Run(model, optimizer, () => LossOfNextBatch()); foreach (var g in optimizer.ParamGroups) g.LearningRate = sweep.Suggested!.Value;") { Kind = RemedyKind.RangeTest };

    /// <summary>Raise the learning rate by <paramref name="factor"/>.</summary>
    public static Remedy RaiseLearningRateBy(double factor, string why) => new("Raise learning rate",
        $"{why}: foreach (var g in optimizer.ParamGroups) g.LearningRate *= {Number(factor)};") { Kind = RemedyKind.RaiseLearningRate, Factor = factor };

    /// <summary>A factor rounded to one significant figure (3, 40, 400), as a user would type it.</summary>
    internal static double RoundFactor(double factor)
    {
        if (!(factor > 1) || double.IsInfinity(factor)) return 1;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(factor)));
        return Math.Round(factor / magnitude) * magnitude;
    }

    private static string Number(double v) => v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Raise the learning rate when nothing is moving.</summary>
    public static Remedy RaiseLearningRate { get; } = new("Check the learning rate",
        "If gradients are healthy but the loss does not move, the step may be too small: foreach (var g in optimizer.ParamGroups) g.LearningRate *= 3;") { Kind = RemedyKind.RaiseLearningRate };
}
