namespace GradientHooks.Reporting;

/// <summary>
/// The shared mechanism of the row sinks: a file created at attach time (with the clear error of
/// <see cref="LogDirectory"/>), one call per parameter row of every captured step, a flush after each step, and
/// detaching on dispose.
/// </summary>
internal sealed class RowFile : IDisposable
{
    private readonly GradientMonitor _monitor;
    private readonly StreamWriter _file;
    private readonly Action<StreamWriter, ParameterRow> _writeRow;
    private bool _disposed;

    public RowFile(GradientMonitor monitor, string path, string sink, string? header, Action<StreamWriter, ParameterRow> writeRow)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _monitor = monitor;
        _writeRow = writeRow;
        _file = LogDirectory.CreateFile(path, nameof(path), sink);
        Path = System.IO.Path.GetFullPath(path);
        if (header != null)
        {
            _file.WriteLine(header);
            _file.Flush();
        }
        monitor.StepCaptured += OnStep;
    }

    public string Path { get; }

    private void OnStep(StepRecord r)
    {
        foreach (var row in ParameterRow.Of(r)) _writeRow(_file, row);
        _file.Flush();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _monitor.StepCaptured -= OnStep;
        _file.Dispose();
    }
}
