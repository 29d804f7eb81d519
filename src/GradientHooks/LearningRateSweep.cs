using System.Globalization;

namespace GradientHooks;

/// <summary>
/// The result of a learning-rate range test (<see cref="LearningRateFinder.Run"/>): the loss after each step of an
/// exponential sweep of the rate, where the loss diverged, and the rates to train with.
/// <para><see cref="Losses"/>[i] is the loss on the next batch after the update made with <see cref="Rates"/>[i], so
/// each point shows what that rate did (fastai and torch-lr-finder pair a rate with the loss measured before its
/// update, one step earlier).</para>
/// </summary>
public sealed record LearningRateSweep
{
    /// <summary>The rate of each step: startRate · (endRate / startRate)^(i / (steps − 1)), up to the step where the sweep stopped.</summary>
    public required IReadOnlyList<double> Rates { get; init; }

    /// <summary>The loss on the next batch after each step's update (NaN or Inf where it blew up).</summary>
    public required IReadOnlyList<double> Losses { get; init; }

    /// <summary>
    /// <see cref="Losses"/> smoothed without lag: a running median of 3, then a centred moving average over
    /// max(5, steps / 20) points, on ln(loss) when every loss is positive (shown back as losses).
    /// </summary>
    public required IReadOnlyList<double> SmoothedLosses { get; init; }

    /// <summary>The loss before the first update (the model as it was given).</summary>
    public required double InitialLoss { get; init; }

    /// <summary>The sweep asked for: first rate, last rate and number of steps.</summary>
    public required double StartRate { get; init; }

    /// <inheritdoc cref="StartRate"/>
    public required double EndRate { get; init; }

    /// <inheritdoc cref="StartRate"/>
    public required int Steps { get; init; }

    /// <summary>
    /// The first rate whose loss the divergence rule caught (NaN/Inf, or the loss of the last block above
    /// ×<see cref="Diagnostics.DiagnosticThresholds.RisingLossFactor"/> the best block's median by more than the noise,
    /// the rule the diagnosis applies to a training run's loss); null when the loss never diverged.
    /// </summary>
    public double? DivergedAt { get; init; }

    /// <summary>The rate of the steepest fall of the smoothed log-loss (most negative d ln L / d ln η), before its minimum; null when the loss never fell.</summary>
    public double? Steepest { get; init; }

    /// <summary>The rate of the lowest smoothed loss before divergence.</summary>
    public double? Minimum { get; init; }

    /// <summary>An order of magnitude below <see cref="DivergedAt"/> (below <see cref="Minimum"/> when the sweep never diverged).</summary>
    public double? BelowDivergence => DivergedAt is double d ? d / 10 : Minimum is double m ? m / 10 : null;

    /// <summary>
    /// The rate to train with: the smaller of <see cref="Steepest"/> and <see cref="BelowDivergence"/> (where the
    /// loss falls fastest, but never within an order of magnitude of where it blew up); null when the loss never fell.
    /// </summary>
    public double? Suggested => Steepest is double steepest ? Math.Min(steepest, BelowDivergence ?? steepest) : null;

    /// <summary>True when the sweep stopped at <see cref="DivergedAt"/> before its last step.</summary>
    public bool Diverged => DivergedAt is not null;

    /// <summary>One line: the suggestion and where the loss diverged.</summary>
    public override string ToString() =>
        $"learning-rate range test over {Rates.Count} steps ({Format(StartRate)} → {Format(Rates.Count > 0 ? Rates[^1] : StartRate)}): " +
        (Suggested is double s ? $"suggested {Format(s)}" : "no rate made the loss fall") +
        (Steepest is double st ? $", steepest fall at {Format(st)}" : "") +
        (DivergedAt is double d ? $", diverged at {Format(d)}" : ", did not diverge");

    /// <summary>A rate as a user would type it, two significant figures: 0.003, 0.015, 3e-5, 1.5e-7.</summary>
    public static string Format(double rate)
    {
        if (!double.IsFinite(rate) || rate == 0) return rate.ToString(CultureInfo.InvariantCulture);
        if (Math.Abs(rate) >= 1e-3 && Math.Abs(rate) < 1e4) return rate.ToString("G2", CultureInfo.InvariantCulture);
        int exponent = (int)Math.Floor(Math.Log10(Math.Abs(rate)));
        double mantissa = Math.Round(rate / Math.Pow(10, exponent), 1);
        if (Math.Abs(mantissa) >= 10) { mantissa /= 10; exponent++; }
        return mantissa.ToString("0.#", CultureInfo.InvariantCulture) + "e" + exponent.ToString(CultureInfo.InvariantCulture);
    }
}
