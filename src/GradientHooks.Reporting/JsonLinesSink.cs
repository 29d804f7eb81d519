using System.Text.Json;

namespace GradientHooks.Reporting;

/// <summary>
/// Writes the run log: JSON Lines that carry everything the diagnosis reads, so that a run can be diagnosed and
/// reported later, on another machine (<see cref="RunLog.Load"/>, the <c>gradienthooks</c> tool). A header line (the
/// format, the library version, the monitor's options and parameters), one line per step (per-parameter statistics,
/// update norms, units, activations, ∂L/∂h, loss, clipping, NaN origin, rollback, zero_grad seen; light steps only what
/// they hold) and the model's profile after the first step and at <see cref="Dispose"/>. Non-finite numbers are the
/// strings "NaN", "Infinity", "-Infinity"; every number reads back bit for bit. The file is flushed after every step, so
/// a crash loses at most the line being written.
/// </summary>
/// <example><code>using var log = JsonLinesSink.Attach(monitor, "runs/mlp/run.jsonl");   // later: gradienthooks report runs/mlp/run.jsonl</code></example>
public sealed class JsonLinesSink : IDisposable
{
    /// <summary>Steps between two profile lines (besides the one after the first step and the last at dispose), so that a run cut short has a recent one.</summary>
    private const int ProfileEvery = 1000;

    private readonly GradientMonitor _monitor;
    private readonly StreamWriter _file;
    private readonly MemoryStream _buffer = new();
    private readonly Utf8JsonWriter _json;
    private LayerOrder? _writtenOrder;
    private long _steps;
    private bool _disposed;

    private JsonLinesSink(GradientMonitor monitor, string path)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _monitor = monitor;
        _json = new Utf8JsonWriter(_buffer);
        _file = LogDirectory.CreateFile(path, nameof(path), nameof(JsonLinesSink));
        Path = System.IO.Path.GetFullPath(path);
        Line(w => RunLogFormat.WriteHeader(w, monitor));
        _file.Flush();
        monitor.StepCaptured += OnStep;
    }

    /// <summary>Attaches a sink writing to <paramref name="path"/> (created or truncated; its folder is created).</summary>
    /// <exception cref="ArgumentException">The file cannot be created: the message names it.</exception>
    public static JsonLinesSink Attach(GradientMonitor monitor, string path) => new(monitor, path);

    /// <summary>The file written.</summary>
    public string Path { get; }

    private void OnStep(StepRecord r)
    {
        bool order = r.LayerOrder is not null && !ReferenceEquals(r.LayerOrder, _writtenOrder);
        Line(w => RunLogFormat.WriteStep(w, r, order));
        if (order) _writtenOrder = r.LayerOrder;
        if (++_steps == 1 || _steps % ProfileEvery == 0) Line(w => RunLogFormat.WriteProfile(w, _monitor.Profile));
        _file.Flush();
    }

    private void Line(Action<Utf8JsonWriter> write)
    {
        _buffer.SetLength(0);
        _json.Reset(_buffer);
        write(_json);
        _json.Flush();
        _file.WriteLine(System.Text.Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length));
    }

    /// <summary>Writes the final profile, detaches from the monitor and closes the file. Safe to call twice.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _monitor.StepCaptured -= OnStep;
        try { Line(w => RunLogFormat.WriteProfile(w, _monitor.Profile)); }
        catch (ObjectDisposedException) { }   // the monitor went first: the last profile line written stands
        _file.Dispose();
        _json.Dispose();
    }
}
