using System.Text.Json;
using GradientHooks.Capture;
using GradientHooks.Diagnostics;

namespace GradientHooks.Reporting;

/// <summary>
/// A run log written by <see cref="JsonLinesSink"/>, read back: the steps the monitor kept in its history (the last
/// <see cref="MonitorOptions.HistoryLength"/> full steps, read in one streaming pass, so a long log never sits in memory
/// whole), the model's profile, and the loss of every step (thinned to at most <see cref="MaxLosses"/> points). From it
/// <see cref="Diagnose"/> gives the diagnosis the monitor gave at the end of the run, and <see cref="WriteReport"/> the
/// HTML report, on any machine, without the model.
/// </summary>
public sealed class RunLog
{
    /// <summary>Most loss points kept for the report's loss chart; a longer run keeps every k-th step.</summary>
    public const int MaxLosses = 20_000;

    private RunLog(string path, string library, MonitorOptions options, IReadOnlyList<ParameterInfo> parameters, IReadOnlyList<StepRecord> history,
        ModelProfile? profile, long steps, IReadOnlyList<(long Step, double Loss)> losses)
    {
        Path = path;
        Library = library;
        Options = options;
        Parameters = parameters;
        History = history;
        Profile = profile;
        Steps = steps;
        Losses = losses;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The GradientHooks version that wrote it.</summary>
    public string Library { get; }

    /// <summary>The monitor's options in that run.</summary>
    public MonitorOptions Options { get; }

    /// <summary>The monitored parameters.</summary>
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    /// <summary>The full steps the monitor's history held at the end of the run, oldest first.</summary>
    public IReadOnlyList<StepRecord> History { get; }

    /// <summary>The model's profile as last written (null for a log cut off before its first step was written).</summary>
    public ModelProfile? Profile { get; }

    /// <summary>Steps in the log.</summary>
    public long Steps { get; }

    /// <summary>(step, loss) of the steps that recorded a finite loss, thinned to at most <see cref="MaxLosses"/> points.</summary>
    public IReadOnlyList<(long Step, double Loss)> Losses { get; }

    /// <summary>The diagnosis of the run, as <see cref="GradientMonitor.Diagnose"/> gave it at the end.</summary>
    public Diagnosis Diagnose(DiagnosticThresholds? thresholds = null) => Diagnoser.Diagnose(History, thresholds, Profile);

    /// <summary>Writes the HTML report of the run to <paramref name="path"/>; returns its full path.</summary>
    public string WriteReport(string path) => HtmlReport.Write(new ReportData(History, Profile, Diagnose(), Losses, $"run log {System.IO.Path.GetFileName(Path)}, GradientHooks {Library}"), path);

    /// <summary>Reads the run log at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no file at the path.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is empty, is not a run log, was written in another format version, or has a line that is not JSON (a last
    /// line cut off by a run that stopped while writing it is named as such); the message names the file and the line.
    /// </exception>
    public static RunLog Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new InvalidDataException($"'{full}' is a folder; give the run log file (what JsonLinesSink wrote).");
        if (!File.Exists(full)) throw new FileNotFoundException($"There is no run log at '{full}'.", full);

        string library = "", first = "";
        MonitorOptions? options = null;
        ParameterInfo[]? parameters = null;
        StepRing? history = null;
        ModelProfile? profile = null;
        LayerOrder? order = null;
        long steps = 0, stride = 1;
        var losses = new List<(long Step, double Loss)>();
        long number = 0;
        using var lines = File.ReadLines(full).GetEnumerator();
        bool more = lines.MoveNext();
        if (!more) throw new InvalidDataException($"'{full}' is empty: not a GradientHooks run log (JsonLinesSink writes a header line first).");
        while (more)
        {
            var line = lines.Current;
            number++;
            more = lines.MoveNext();
            if (line.Length == 0) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e)
            {
                throw new InvalidDataException(more
                    ? $"'{full}', line {number}, is not valid JSON ({e.Message}): not a GradientHooks run log, or a damaged one."
                    : $"'{full}', line {number} (the last), is cut off: the run stopped while writing it. Remove that line to read the {number - 1} before it.");
            }
            using (doc)
            {
                var e = doc.RootElement;
                var type = e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) ? t.GetString() : null;
                if (number == 1)
                {
                    if (type != "run") throw new InvalidDataException($"'{full}' does not start with a GradientHooks run log header (line 1 has type '{type ?? "none"}'); is it a run log written by JsonLinesSink?");
                    int format = e.GetProperty("format").GetInt32();
                    library = e.TryGetProperty("library", out var l) ? l.GetString() ?? "" : "";
                    if (format != RunLogFormat.Version)
                        throw new InvalidDataException($"'{full}' is a run log of format {format} (GradientHooks {library}); this GradientHooks ({RunLogFormat.Library}) reads format {RunLogFormat.Version}.");
                    options = e.GetProperty("options").Deserialize<MonitorOptions>(RunLogFormat.Json)!;
                    parameters = e.GetProperty("parameters").Deserialize<ParameterInfo[]>(RunLogFormat.Json)!;
                    history = new StepRing(options.HistoryLength);
                    first = line;
                    continue;
                }
                switch (type)
                {
                    case "step":
                        StepRecord r;
                        try { r = RunLogFormat.ReadStep(e, parameters!, ref order); }
                        catch (Exception x) when (x is KeyNotFoundException or InvalidOperationException or FormatException or JsonException or InvalidDataException)
                        {
                            throw new InvalidDataException($"'{full}', line {number}: a step line that cannot be read ({x.Message}).");
                        }
                        steps++;
                        if (r.IsFull) history!.Add(r);
                        if (r.Loss is double loss && double.IsFinite(loss) && (steps - 1) % stride == 0)
                        {
                            losses.Add((r.Step, loss));
                            if (losses.Count > MaxLosses) { stride *= 2; losses = losses.Where((_, i) => i % 2 == 0).ToList(); }
                        }
                        break;
                    case "profile":
                        profile = RunLogFormat.ReadProfile(e);
                        break;
                    default:
                        throw new InvalidDataException($"'{full}', line {number}, has type '{type ?? "none"}'; a run log has run, step and profile lines.");
                }
            }
        }
        return new RunLog(full, library, options!, parameters!, history!.ToList(), profile, steps, losses);
    }
}
