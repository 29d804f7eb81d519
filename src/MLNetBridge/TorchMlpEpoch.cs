using GradientHooks.Diagnostics;

namespace GradientHooks.MLNet;

/// <summary>
/// One epoch of TorchMlp training: the mean training loss over the applied steps, the total gradient norm
/// (L2 over all parameters, before clipping) as mean and maximum over the epoch's steps, each layer's mean
/// gradient L2 norm, how many steps were clipped or skipped, and the diagnosis of the monitor's history so far.
/// </summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Loss">Mean of the per-step training loss (on the standardised label for regression); NaN if no step had a finite loss.</param>
/// <param name="MeanGradientNorm">Mean total gradient norm over the epoch's steps with finite gradients.</param>
/// <param name="MaxGradientNorm">Largest total gradient norm of the epoch (∞ or NaN if a step had non-finite gradients; NaN if no step had full statistics).</param>
/// <param name="LayerGradientNorms">Mean per-layer gradient L2 norm, keyed by layer name (<c>fc1</c>, <c>fc2</c>, …, <c>out</c>).</param>
/// <param name="Steps">Optimisation steps in the epoch.</param>
/// <param name="ClippedSteps">Steps the clipping policy changed.</param>
/// <param name="SkippedSteps">Steps skipped because a gradient was NaN or infinite (weights left untouched).</param>
/// <param name="Elapsed">Wall time of the epoch.</param>
/// <param name="Diagnosis">The monitor's diagnosis at the end of the epoch.</param>
public sealed record TorchMlpEpoch(
    int Epoch,
    double Loss,
    double MeanGradientNorm,
    double MaxGradientNorm,
    IReadOnlyDictionary<string, double> LayerGradientNorms,
    int Steps,
    int ClippedSteps,
    int SkippedSteps,
    TimeSpan Elapsed,
    Diagnosis Diagnosis)
{
    /// <summary>Loss on the held-out rows after the epoch (<see cref="TorchMlpOptions.ValidationFraction"/>), in the training loss's units; null without a hold-out.</summary>
    public double? ValidationLoss { get; init; }

    /// <summary>The learning rate at the end of the epoch: the rate the next step would use, after the schedule
    /// (<see cref="TorchMlpOptions.LearningRateSchedule"/>) has stepped once per mini-batch so far.</summary>
    public double LearningRate { get; init; }

    /// <summary>One line: epoch, loss, gradient norms, clipped/skipped counts and the findings' kinds.</summary>
    public override string ToString()
    {
        var findings = Diagnosis.Findings.Count == 0 ? "healthy"
            : string.Join(", ", Diagnosis.Findings.Select(f => $"{f.Title} ({f.Severity})"));
        return FormattableString.Invariant(
            $"epoch {Epoch}: loss {Loss:G4}{(ValidationLoss is double v ? $", validation {v:G4}" : "")}, gradient norm mean {MeanGradientNorm:G3} max {MaxGradientNorm:G3}, lr {LearningRate:G3}, clipped {ClippedSteps}/{Steps}, skipped {SkippedSteps}, {Elapsed.TotalSeconds:F2} s; {findings}");
    }
}
