namespace RnnTextClipping;

/// <summary>The knobs of a run (the command-line options).</summary>
public sealed record TrainingSettings
{
    public string Cell { get; init; } = "rnn";
    public int Hidden { get; init; } = 128;
    public int SequenceLength { get; init; } = 64;
    public int BatchSize { get; init; } = 32;
    public int Steps { get; init; } = 800;
    public double LearningRate { get; init; } = 4.0;
    public int Seed { get; init; } = 1;
    public int EvaluateEvery { get; init; } = 50;
    public int ValidationBatches { get; init; } = 4;
}
