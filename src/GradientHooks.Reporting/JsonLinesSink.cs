using System.Text.Json;

namespace GradientHooks.Reporting;

/// <summary>
/// Writes one JSON object per parameter per captured step (JSON Lines), with the columns of <see cref="CsvSink"/>
/// as properties; non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity". The file is flushed
/// after every step, so a crash loses at most the step being written.
/// </summary>
/// <example><code>using var log = JsonLinesSink.Attach(monitor, "runs/mlp/gradients.jsonl");</code></example>
public sealed class JsonLinesSink : IDisposable
{
    private readonly RowFile _file;
    private readonly MemoryStream _buffer = new();
    private readonly Utf8JsonWriter _json;

    private JsonLinesSink(GradientMonitor monitor, string path)
    {
        _json = new Utf8JsonWriter(_buffer);
        _file = new RowFile(monitor, path, nameof(JsonLinesSink), header: null, WriteRow);
    }

    /// <summary>Attaches a sink writing to <paramref name="path"/> (created or truncated; its folder is created).</summary>
    /// <exception cref="ArgumentException">The file cannot be created: the message names it.</exception>
    public static JsonLinesSink Attach(GradientMonitor monitor, string path) => new(monitor, path);

    /// <summary>The file written.</summary>
    public string Path => _file.Path;

    private void WriteRow(StreamWriter file, ParameterRow row)
    {
        _buffer.SetLength(0);
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteNumber("step", row.Step);
        _json.WriteString("time", row.Time.UtcDateTime.ToString("O"));
        Number("loss", row.Loss);
        _json.WriteString("parameter", row.Parameter);
        _json.WriteString("layer", row.Layer);
        _json.WriteNumber("count", row.Stats.Count);
        Number("sum", row.Stats.Sum);
        Number("sum_of_squares", row.Stats.SumOfSquares);
        Number("norm", row.Stats.Norm);
        Number("mean", row.Stats.Mean);
        Number("rms", row.Stats.Rms);
        Number("max_abs", row.Stats.MaxAbs);
        _json.WriteNumber("non_finite", row.Stats.NonFiniteCount);
        Number("update_ratio", row.UpdateRatio);
        Number("total_norm", row.TotalNorm);
        Bool("clipped", row.Clipped);
        Bool("skipped", row.Skipped);
        _json.WriteEndObject();
        _json.Flush();
        file.WriteLine(System.Text.Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length));
    }

    private void Number(string name, double? value)
    {
        if (value is not double v) _json.WriteNull(name);
        else if (double.IsFinite(v)) _json.WriteNumber(name, v);
        else _json.WriteString(name, double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    private void Bool(string name, bool? value)
    {
        if (value is bool b) _json.WriteBoolean(name, b);
        else _json.WriteNull(name);
    }

    /// <summary>Detaches from the monitor and closes the file.</summary>
    public void Dispose()
    {
        _file.Dispose();
        _json.Dispose();
    }
}
