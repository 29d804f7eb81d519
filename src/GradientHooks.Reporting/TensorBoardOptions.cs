namespace GradientHooks.Reporting;

/// <summary>What <see cref="TensorBoardSink"/> writes and how often.</summary>
public sealed record TensorBoardOptions
{
    /// <summary>Scalars (loss, total and per-layer norms, update ratios, clipping, activations) every N captured steps. Default 1.</summary>
    public int ScalarEvery { get; init; } = 1;

    /// <summary>Gradient histograms of every parameter every N full steps; 0 turns them off. Default 100 (each costs one copy of the gradients).</summary>
    public int HistogramEvery { get; init; } = 100;

    /// <summary>The diagnosis as text every N steps; 0 writes it only when the sink is disposed. Default 0.</summary>
    public int DiagnoseEvery { get; init; }

    /// <summary>How often buffered scalars are written to disk (also on Flush and Dispose). Default 1 second.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    internal void Validate()
    {
        if (FlushInterval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(FlushInterval), FlushInterval, "TensorBoardOptions.FlushInterval must not be negative.");
        if (ScalarEvery < 1) throw new ArgumentOutOfRangeException(nameof(ScalarEvery), ScalarEvery, "TensorBoardOptions.ScalarEvery must be at least 1.");
        if (HistogramEvery < 0) throw new ArgumentOutOfRangeException(nameof(HistogramEvery), HistogramEvery, "TensorBoardOptions.HistogramEvery must be >= 0 (0 = off).");
        if (DiagnoseEvery < 0) throw new ArgumentOutOfRangeException(nameof(DiagnoseEvery), DiagnoseEvery, "TensorBoardOptions.DiagnoseEvery must be >= 0 (0 = at dispose only).");
    }
}
