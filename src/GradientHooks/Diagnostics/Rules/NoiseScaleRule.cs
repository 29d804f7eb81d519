namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// The batch against the gradient noise scale (<see cref="StepRecord.NoiseScale"/>, B_simple = tr(Σ)/|G|²): McCandlish
/// et al. (2018) find that the steps needed fall as S ≈ S_min(1 + B_noise/B) and the examples needed rise as
/// E ≈ E_min(1 + B/B_noise), so a batch B ≪ B_noise spends many noisy steps and B ≫ B_noise spends examples for little.
/// Information (never a warning: both train), when the median of the last <see cref="MinEstimates"/> measured values
/// is more than ×<see cref="Factor"/> away from the batch, over at least that many measured steps.
/// </summary>
internal sealed class NoiseScaleRule : IDiagnosticRule
{
    /// <summary>How far the batch must be from B_simple, either way.</summary>
    public const double Factor = 10;

    /// <summary>Measured steps needed before the averages are trusted, and the last steps judged.</summary>
    public const int MinEstimates = 20;

    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var measured = c.History.Where(r => r.NoiseScale is double && r.BatchExamples is long).ToList();
        if (measured.Count < MinEstimates) yield break;
        var recent = measured.Skip(measured.Count - MinEstimates).ToList();
        double scale = DiagnosisContext.Median(recent.Select(r => r.NoiseScale!.Value));
        double batch = DiagnosisContext.Median(recent.Select(r => (double)r.BatchExamples!.Value));
        bool below = batch * Factor < scale, above = batch > Factor * scale;
        if (!below && !above) yield break;
        var last = recent[^1];
        var evidence = new List<string>
        {
            $"gradient noise scale B_simple = tr(Σ)/|G|² ≈ {scale:G3} examples (median over steps {recent[0].Step}–{last.Step}; moving averages of |G|² ≈ {last.Noise!.GradientSquaredNorm:G3} and tr(Σ) ≈ {last.Noise.NoiseTrace:G3})",
            $"batch: {batch:0} examples in {last.MicroBatches} micro-batches (×{(below ? scale / batch : batch / scale):0} {(below ? "below" : "above")} B_simple; threshold ×{Factor:0})",
        };
        var layers = last.LayerNoise.Where(n => n.Simple is not null).Select(n => $"{n.Layer} {n.Simple:G3}").ToList();
        if (layers.Count > 1) evidence.Add("per layer: " + string.Join(", ", layers));
        double target = Math.Round(scale, scale >= 100 ? -1 : 0);
        var remedy = new Remedy("Batch size near the noise scale", below
            ? $"A batch of about {target:0} examples (×{scale / batch:0} this one) would take fewer, less noisy steps; raise the learning rate with it (roughly in proportion, up to what a range test allows: LearningRateFinder.Run)"
            : $"About {target:0} examples per step carry as much signal: a smaller batch (÷{batch / scale:0}) trains on fewer examples for nearly the same number of steps")
        { Kind = RemedyKind.BatchSize, Examples = (long)Math.Max(1, target) };
        yield return new Finding(FindingKind.BatchSizeVsNoiseScale, Severity.Info,
            below
                ? $"The batch ({batch:0} examples) is far below the gradient noise scale ({scale:G3}): each step's gradient is mostly noise."
                : $"The batch ({batch:0} examples) is far above the gradient noise scale ({scale:G3}): most of its examples add little.",
            Array.Empty<string>(), evidence, new List<Remedy> { remedy }) { Since = recent[0].Step };
    }
}
