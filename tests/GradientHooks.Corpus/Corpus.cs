using GradientHooks.Corpus.Runs;

namespace GradientHooks.Corpus;

/// <summary>Every run of the corpus: healthy first, then broken, in the order of the README's table.</summary>
public static class Corpus
{
    /// <summary>All runs.</summary>
    public static IReadOnlyList<CorpusRun> All { get; } = new[]
    {
        MLNetRuns.TaxiFare(),
        MLNetRuns.TaxiFareUnnormalized(),
        MLNetRuns.BikeSharing(),
        DigitRuns.Cnn(),
        MLNetRuns.Iris(),
        MLNetRuns.BreastCancer(),
        MLNetRuns.DetoxText(),
        TextRuns.ClippedLstm(),
        TextRuns.Transformer(),
        TextRuns.Gru(),
        DigitRuns.FrozenFeatures(),
        DigitRuns.GradientAccumulation(),
        DigitRuns.ModelZeroGrad(),
        PrecisionRuns.Float16Scaled(),
        PrecisionRuns.BFloat16(),
        PrecisionRuns.Float16UnderflowScaled(),
        DigitRuns.CnnLearningRateTooHigh(),
        DigitRuns.DeepFunctionalSigmoid(),
        DigitRuns.HeadFirstSigmoid(),
        DigitRuns.ReversedSigmoid(),
        TextRuns.UnclippedRnn(),
        DigitRuns.WeightsTimesFour(),
        FaultRuns.NaNInput(),
        MLNetFaultRuns.TaxiFareLearningRate(),
        MLNetFaultRuns.OptDigitsDeepSigmoid(),
        DigitRuns.NoZeroGrad(),
        BikeRuns.RawSgd(),
        DigitRuns.TanhNormalInit(),
        DigitRuns.LearningRateTooLow(),
        PrecisionRuns.Float16Underflow(),
        PrecisionRuns.Float16Adam(),
    };

    /// <summary>The run called <paramref name="name"/>.</summary>
    public static CorpusRun Named(string name) => All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"No corpus run is called '{name}'. Runs: {string.Join(", ", All.Select(r => r.Name))}.", nameof(name));

    /// <summary>Trains <paramref name="run"/> and judges its diagnosis.</summary>
    public static Verdict Run(CorpusRun run)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var outcome = run.Train() with { };
        return Verdict.Judge(run, outcome with { Elapsed = clock.Elapsed });
    }
}
