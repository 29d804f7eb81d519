using System.Globalization;

namespace GradientHooks.Reporting;

/// <summary>
/// Writes one CSV row per parameter per captured step, with a header: <c>step, time, loss, parameter, layer, count,
/// sum, sum_of_squares, norm, mean, rms, max_abs, non_finite, update_ratio, total_norm, clipped, skipped</c>.
/// Numbers use the invariant culture ("R" round-trip format; NaN and ±Infinity as .NET writes them); unknown
/// values are empty. Flushed after every step, so a crash loses at most the step being written.
/// </summary>
/// <example><code>using var csv = CsvSink.Attach(monitor, "runs/mlp/gradients.csv");</code></example>
public sealed class CsvSink : IDisposable
{
    private readonly RowFile _file;

    private CsvSink(GradientMonitor monitor, string path) =>
        _file = new RowFile(monitor, path, nameof(CsvSink), string.Join(",", ParameterRow.Columns), WriteRow);

    /// <summary>Attaches a sink writing to <paramref name="path"/> (created or truncated; its folder is created).</summary>
    /// <exception cref="ArgumentException">The file cannot be created: the message names it.</exception>
    public static CsvSink Attach(GradientMonitor monitor, string path) => new(monitor, path);

    /// <summary>The file written.</summary>
    public string Path => _file.Path;

    private static void WriteRow(StreamWriter file, ParameterRow row)
    {
        var s = row.Stats;
        file.WriteLine(string.Join(",",
            row.Step.ToString(CultureInfo.InvariantCulture), row.Time.UtcDateTime.ToString("O"), N(row.Loss), Quote(row.Parameter), Quote(row.Layer),
            s.Count.ToString(CultureInfo.InvariantCulture), N(s.Sum), N(s.SumOfSquares), N(s.Norm), N(s.Mean), N(s.Rms), N(s.MaxAbs),
            s.NonFiniteCount.ToString(CultureInfo.InvariantCulture), N(row.UpdateRatio), N(row.TotalNorm), B(row.Clipped), B(row.Skipped)));
    }

    private static string N(double? v) => v is double d ? d.ToString("R", CultureInfo.InvariantCulture) : "";
    private static string B(bool? v) => v is bool b ? (b ? "true" : "false") : "";
    private static string Quote(string s) => s.IndexOfAny(new[] { ',', '"', '\n' }) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    /// <summary>Detaches from the monitor and closes the file.</summary>
    public void Dispose() => _file.Dispose();
}
