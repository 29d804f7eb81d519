namespace GradientHooks.Diagnostics;

/// <summary>
/// Every threshold the diagnosis rules use, with its default. Override with <c>with</c>:
/// <c>monitor.Diagnose(new DiagnosticThresholds { VanishingRatio = 1e-3 })</c>.
/// </summary>
public sealed record DiagnosticThresholds
{
    /// <summary>Fewer fully captured steps than this: "not enough data". Default 5.</summary>
    public int MinSteps { get; init; } = 5;

    /// <summary>Number of most recent fully captured steps the rules look at. Default 50.</summary>
    public int Window { get; init; } = 50;

    /// <summary>
    /// Vanishing: the first layer's median gradient RMS divided by the last layer's is below this (two orders of
    /// magnitude). Default 1e−2. Below its square (1e−4) the finding is critical.
    /// </summary>
    public double VanishingRatio { get; init; } = 1e-2;

    /// <summary>Exploding toward the input: the first layer's gradient RMS is more than this times the last layer's. Default 1e2.</summary>
    public double ExplodingRatio { get; init; } = 1e2;

    /// <summary>
    /// Early layers "barely move" when their median update ratio ‖Δw‖/‖w‖ is below this; and the learning rate is too low
    /// when the median over layers is below it while gradients flow and the loss stays flat. Default 1e−5.
    /// </summary>
    public double FrozenUpdateRatio { get; init; } = 1e-5;

    /// <summary>
    /// Exploding growth: the least-squares slope b of ln(total norm) against the step exceeds ln(2)/this, i.e. the
    /// norm doubles at least every this many steps, with R² of the fit at least <see cref="GrowthMinR2"/> and the
    /// norm at least <see cref="GrowthMinRise"/> times larger at the end of the window than at its start. Default 10.
    /// </summary>
    public double GrowthDoublingSteps { get; init; } = 10;

    /// <summary>Minimum R² of the log-norm fit for the growth rule. Default 0.6.</summary>
    public double GrowthMinR2 { get; init; } = 0.6;

    /// <summary>Minimum end/start rise of the fitted norm over the window for the growth rule. Default 10.</summary>
    public double GrowthMinRise { get; init; } = 10;

    /// <summary>
    /// A gradient spike is a total norm whose logarithm lies more than this many robust standard deviations above
    /// the median of its baseline: z = (ln‖g‖ − median ln‖g‖) / (1.4826 · MAD ln‖g‖), over the up to 10 full steps
    /// before it (at least 2; for the first steps of a run, which have no such past, the 10 steps after a gap of 5). On the log scale a
    /// heavy-tailed but healthy norm distribution (hard mini-batches) has a wide MAD, so its large batches are not
    /// spikes; a norm that leaves a steady baseline is. Default 6.
    /// </summary>
    public double SpikeZ { get; init; } = 6;

    /// <summary>A spike must also be at least this many times its baseline's median norm (a floor for very steady baselines). Default 3.</summary>
    public double SpikeFactor { get; init; } = 3;

    /// <summary>
    /// A spike hurt training when the median loss of the 10 full steps that follow it (for a burst at the start of a
    /// run, of its own first 5 steps) is more than this many times the median loss of its baseline, by more than a
    /// tenth of the run's typical loss, or when NaN/Inf follows. Spikes the loss absorbs are mini-batch noise:
    /// information, not exploding gradients. Measured on the corpus: heavy-tailed taxi fares move that median by at
    /// most ×2.3 after a spike; an exploding RNN by ×7.9, weights ×4 by ×25. Default 3.
    /// </summary>
    public double LossResponseFactor { get; init; } = 3;

    /// <summary>
    /// Dying ReLU: a layer's fraction of dead units (no gradient on each of the last
    /// <see cref="MonitorOptions.DeadUnitSteps"/> full steps; or, from hooks, output zero for the whole batch, median
    /// over the window) exceeds this. Default 0.8. A layer with every unit dead passes no gradient at all: critical.
    /// Healthy ReLU networks routinely carry 40–50 % dead units in a layer (measured on the corpus: up to 50 % in
    /// iris' second layer and 44 % in taxi-fare's, at accuracy 0.965 and R² 0.97), so above half but below this the
    /// finding is information: capacity lost, the rest of the units carry the model.
    /// </summary>
    public double DeadUnitFraction { get; init; } = 0.8;

    /// <summary>Saturation: the median fraction of saturated sigmoid/tanh outputs of a layer exceeds this ("most units"). Default 0.5.</summary>
    public double SaturatedFraction { get; init; } = 0.5;

    /// <summary>
    /// Plateau: with at least 10 losses in the window, |median of its last third − median of its first third| is
    /// below this fraction of the first, and the loss has not fallen by more than <see cref="PlateauProgress"/>
    /// since the first captured step (so a converged model is not a plateau). Default 0.01.
    /// </summary>
    public double PlateauRelativeChange { get; init; } = 0.01;

    /// <summary>Fraction by which the loss must have fallen since the first step for a flat loss to count as converged. Default 0.5.</summary>
    public double PlateauProgress { get; init; } = 0.5;

    /// <summary>Oscillation: the mean |loss_t − loss_t−1| exceeds this fraction of the mean loss. Default 0.3.</summary>
    public double OscillationRelativeChange { get; init; } = 0.3;

    /// <summary>
    /// Oscillation also needs successive losses to alternate: the lag-1 autocorrelation of the window's losses (about
    /// their mean) must be at most this value. A period-2 bounce from too large a step gives about −1; mini-batch
    /// noise, whose successive losses are independent, gives about 0 with a standard error of 1/√n (0.14 over a
    /// 50-step window), so noisy but healthy training is not flagged. Default −0.5 (3.5 standard errors at n = 50).
    /// </summary>
    public double OscillationAutocorrelation { get; init; } = -0.5;

    /// <summary>Rising loss: the median of the window's last third exceeds this multiple of its first third. Default 2.</summary>
    public double RisingLossFactor { get; init; } = 2;

    /// <summary>
    /// Gradients never zeroed: at least this many consecutive steps without <c>zero_grad()</c> through the guard, over
    /// which the accumulation probe (<see cref="StepRecord.AccumulationRatio"/>) grew by <see cref="AccumulationGrowth"/>
    /// and the total norm by 1.5×. Default 20.
    /// </summary>
    public int UnzeroedSteps { get; init; } = 20;

    /// <summary>
    /// How much the median accumulation ratio ‖gₜ‖/‖gₜ − gₜ₋₁‖ of the last third of an unzeroed streak must exceed that of
    /// its first third. A running sum of gradients grows it like t (or √t for pure noise: ×2.2 between the thirds of a
    /// 30-step streak); gradients zeroed elsewhere keep it level. Default 2.
    /// </summary>
    public double AccumulationGrowth { get; init; } = 2;

    /// <summary>
    /// Unscaled inputs: a feature of the model's input batch whose root mean square √(mean² + std²) exceeds this.
    /// Standardised features are of the order of 1, min-max scaled ones below 1, raw pixels 0–255 of the order of 100,
    /// durations in seconds of the order of 1e3. Default 10.
    /// </summary>
    public double InputScale { get; init; } = 10;

    /// <summary>
    /// Unscaled targets: a first loss above this. Cross-entropy starts near ln C (2.3 for 10 classes); a mean squared
    /// error starts near the mean square of the target, so 1e3 means targets of the order of 30 and more. Default 1e3.
    /// </summary>
    public double LargeFirstLoss { get; init; } = 1e3;

    /// <summary>
    /// Learning rate too high: the median over layers of the update ratio ‖Δw‖/‖w‖, as a median over 5 consecutive full
    /// steps that are not gradient spikes, reaches this (every layer's weights move by a tenth of their size per step,
    /// a hundred times the usual <see cref="TypicalUpdateRatio"/>). Measured on the corpus: healthy runs at most 0.035
    /// (an LSTM at Adam 2e-3 in its first steps), Adam at lr 0.5 0.39 to 9. Default 0.1.
    /// </summary>
    public double HighUpdateRatio { get; init; } = 0.1;

    /// <summary>
    /// The update ratio ‖Δw‖/‖w‖ of a well-set learning rate, about 1e−3 per step (a rule of thumb of Karpathy's CS231n
    /// notes, and what the corpus's healthy runs show: medians 4.9e−4 to 7.4e−3): the factor in the learning-rate remedies
    /// is the measured ratio against this. Default 1e−3.
    /// </summary>
    public double TypicalUpdateRatio { get; init; } = 1e-3;

    /// <summary>
    /// Gradient underflow: a float16/bfloat16 parameter whose gradient elements are exactly 0 in at least this fraction
    /// (window median, dead units subtracted) while its largest stored gradient sits near the bottom of the format.
    /// Float32 training of the same models keeps 11–28 % zeros (pixels that are always 0, dead units); a loss scaled
    /// below float16's range zeroes 90 % and more. Default 0.5.
    /// </summary>
    public double UnderflowZeroFraction { get; init; } = 0.5;

    /// <summary>Loss scale collapse: this many scaled steps in a row that overflowed, at the end of the history. GradScaler's search from 2¹⁶ takes a few; default 10.</summary>
    public int LossScaleOverflowRun { get; init; } = 10;

    internal void Validate()
    {
        static void Positive(double v, string name) { if (!(v > 0) || double.IsInfinity(v)) throw new ArgumentOutOfRangeException(name, v, $"DiagnosticThresholds.{name} must be a finite number > 0."); }
        static void Fraction(double v, string name) { if (!(v > 0 && v < 1)) throw new ArgumentOutOfRangeException(name, v, $"DiagnosticThresholds.{name} must be in (0, 1)."); }
        if (MinSteps < 1) throw new ArgumentOutOfRangeException(nameof(MinSteps), MinSteps, "DiagnosticThresholds.MinSteps must be at least 1.");
        if (Window < 2) throw new ArgumentOutOfRangeException(nameof(Window), Window, "DiagnosticThresholds.Window must be at least 2.");
        Fraction(VanishingRatio, nameof(VanishingRatio));
        if (!(ExplodingRatio > 1) || double.IsInfinity(ExplodingRatio)) throw new ArgumentOutOfRangeException(nameof(ExplodingRatio), ExplodingRatio, "DiagnosticThresholds.ExplodingRatio must be a finite number > 1.");
        Positive(FrozenUpdateRatio, nameof(FrozenUpdateRatio));
        Positive(GrowthDoublingSteps, nameof(GrowthDoublingSteps));
        Fraction(GrowthMinR2, nameof(GrowthMinR2));
        Positive(GrowthMinRise, nameof(GrowthMinRise));
        Positive(SpikeZ, nameof(SpikeZ));
        if (!(SpikeFactor >= 1) || double.IsInfinity(SpikeFactor)) throw new ArgumentOutOfRangeException(nameof(SpikeFactor), SpikeFactor, "DiagnosticThresholds.SpikeFactor must be a finite number >= 1.");
        if (!(LossResponseFactor > 1) || double.IsInfinity(LossResponseFactor)) throw new ArgumentOutOfRangeException(nameof(LossResponseFactor), LossResponseFactor, "DiagnosticThresholds.LossResponseFactor must be a finite number > 1.");
        Fraction(DeadUnitFraction, nameof(DeadUnitFraction));
        Fraction(SaturatedFraction, nameof(SaturatedFraction));
        Fraction(PlateauRelativeChange, nameof(PlateauRelativeChange));
        Fraction(PlateauProgress, nameof(PlateauProgress));
        Positive(OscillationRelativeChange, nameof(OscillationRelativeChange));
        if (!(OscillationAutocorrelation >= -1 && OscillationAutocorrelation <= 1))
            throw new ArgumentOutOfRangeException(nameof(OscillationAutocorrelation), OscillationAutocorrelation, "OscillationAutocorrelation must be in [−1, 1].");
        Positive(RisingLossFactor, nameof(RisingLossFactor));
        if (UnzeroedSteps < 3) throw new ArgumentOutOfRangeException(nameof(UnzeroedSteps), UnzeroedSteps, "DiagnosticThresholds.UnzeroedSteps must be at least 3.");
        if (!(AccumulationGrowth > 1) || double.IsInfinity(AccumulationGrowth)) throw new ArgumentOutOfRangeException(nameof(AccumulationGrowth), AccumulationGrowth, "DiagnosticThresholds.AccumulationGrowth must be a finite number > 1.");
        Positive(InputScale, nameof(InputScale));
        Positive(LargeFirstLoss, nameof(LargeFirstLoss));
        Positive(HighUpdateRatio, nameof(HighUpdateRatio));
        Positive(TypicalUpdateRatio, nameof(TypicalUpdateRatio));
        Fraction(UnderflowZeroFraction, nameof(UnderflowZeroFraction));
        if (LossScaleOverflowRun < 2) throw new ArgumentOutOfRangeException(nameof(LossScaleOverflowRun), LossScaleOverflowRun, "DiagnosticThresholds.LossScaleOverflowRun must be at least 2.");
    }
}
