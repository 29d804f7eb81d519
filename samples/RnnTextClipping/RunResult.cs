using GradientHooks.Samples;
using GradientHooks;
using GradientHooks.Diagnostics;

namespace RnnTextClipping;

/// <summary>What one training run produced.</summary>
public sealed record RunResult(
    string Name,
    IReadOnlyList<StepRecord> Steps,
    IReadOnlyList<(long Step, double Loss)> Validation,
    long ClippedSteps,
    long SkippedSteps,
    Diagnosis Diagnosis,
    CharRnn Model)
{
    /// <summary>Validation loss (nats per character) at the end; NaN when the model diverged.</summary>
    public double FinalValidation => Validation.Count == 0 ? double.NaN : Validation[^1].Loss;

    /// <summary>Best validation loss seen.</summary>
    public double BestValidation => Validation.Where(v => double.IsFinite(v.Loss)).Select(v => v.Loss).DefaultIfEmpty(double.NaN).Min();

    /// <summary>Bits per character of the final validation loss: loss / ln 2.</summary>
    public double FinalBitsPerCharacter => FinalValidation / Math.Log(2);

    /// <summary>Largest total gradient norm before clipping.</summary>
    public double MaxGradientNorm => Steps.Select(s => s.Clipping?.NormBefore ?? s.TotalNorm).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max();
}
