namespace GradientHooks.Reporting;

/// <summary>
/// Keeps an <see cref="HtmlReport"/> of a training run up to date: rewritten (atomically) every <c>every</c> captured
/// steps and when the sink is disposed, so the file a person opens during a long run is never more than that many steps
/// old and never half written.
/// </summary>
/// <example><code>using var report = HtmlReportSink.Attach(monitor, "runs/mlp/report.html", every: 200);</code></example>
public sealed class HtmlReportSink : IDisposable
{
    private readonly GradientMonitor _monitor;
    private readonly int _every;
    private long _steps;
    private bool _disposed;

    private HtmlReportSink(GradientMonitor monitor, string path, int every)
    {
        _monitor = monitor;
        _every = every;
        Path = System.IO.Path.GetFullPath(path);
        LogDirectory.Prepare(System.IO.Path.GetDirectoryName(Path)!, nameof(path), nameof(HtmlReportSink));
        monitor.StepCaptured += OnStep;
    }

    /// <summary>Attaches a sink that rewrites the report at <paramref name="path"/> every <paramref name="every"/> steps and at dispose.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="every"/> is below 1.</exception>
    /// <exception cref="ArgumentException">The folder cannot be written: the message names it.</exception>
    public static HtmlReportSink Attach(GradientMonitor monitor, string path, int every = 100)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), every, "HtmlReportSink: every must be at least 1 (steps between two rewrites of the report).");
        return new HtmlReportSink(monitor, path, every);
    }

    /// <summary>The report's path.</summary>
    public string Path { get; }

    private void OnStep(StepRecord r)
    {
        if (++_steps % _every == 0) HtmlReport.Write(_monitor, Path);
    }

    /// <summary>Writes the report a last time and detaches. Safe to call twice.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _monitor.StepCaptured -= OnStep;
        try { HtmlReport.Write(_monitor, Path); }
        catch (ObjectDisposedException) { }   // the monitor went first: the last report written stands
    }
}
