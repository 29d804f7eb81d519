using System.Globalization;
using System.Net;
using System.Text;
using GradientHooks.Diagnostics;
using ScottPlot;

namespace GradientHooks.Reporting;

/// <summary>
/// One self-contained HTML file a person opens, shares or attaches to a bug report: the verdict first (root cause,
/// severity, remedy as code), every finding with its evidence and a link to the chart that shows it, the layers in
/// data-flow order, then the charts as inline SVG: gradient flow (RMS and max per layer), a layer × step heatmap of
/// log10 norm, the loss with clipped, skipped and rolled-back steps marked, the total norm before and after clipping,
/// dead and saturated units per layer, update ratios per layer. No script and no network access are needed to view it;
/// it follows the reader's light or dark mode and prints.
/// </summary>
/// <example><code>
/// HtmlReport.Write(monitor, "runs/mlp/report.html");                 // now
/// using var report = HtmlReportSink.Attach(monitor, "report.html");   // rewritten as training goes
/// RunLog.Load("runs/mlp/run.jsonl").WriteReport("report.html");      // later, from the run log
/// </code></example>
public static class HtmlReport
{
    private const int Width = 960, Height = 420;

    /// <summary>Writes the report of <paramref name="monitor"/>'s history and diagnosis to <paramref name="path"/> (atomically: a temporary file moved over it); returns the full path.</summary>
    /// <exception cref="ArgumentException">The path cannot be written: the message names it.</exception>
    public static string Write(GradientMonitor monitor, string path)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        var history = monitor.History;
        var losses = history.Where(r => r.Loss is double l && double.IsFinite(l)).Select(r => (r.Step, r.Loss!.Value)).ToList();
        return Write(new ReportData(history, monitor.Profile, monitor.Diagnose(), losses, $"live monitor, {monitor.StepCount} steps"), path);
    }

    internal static string Write(ReportData data, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        LogDirectory.Prepare(folder, nameof(path), nameof(HtmlReport));
        var html = Render(data);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllText(temporary, html, new UTF8Encoding(false));
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
        return full;
    }

    /// <summary>The chart that shows a finding's evidence.</summary>
    internal static (string Id, string Title)? ChartOf(Finding f) => f.Kind switch
    {
        FindingKind.VanishingGradients => ("chart-flow", "gradient flow"),
        FindingKind.ExplodingGradients => f.Evidence.Any(e => e.Contains("grow toward the input", StringComparison.Ordinal)) ? ("chart-flow", "gradient flow") : ("chart-norm", "total gradient norm"),
        FindingKind.NonFiniteGradients or FindingKind.GradientsNotZeroed => ("chart-norm", "total gradient norm"),
        FindingKind.DyingRelu or FindingKind.SaturatedActivations => ("chart-units", "dead and saturated units"),
        FindingKind.LossPlateau or FindingKind.LossOscillation or FindingKind.TrainingRolledBack => ("chart-loss", "loss"),
        FindingKind.LearningRateTooHigh or FindingKind.LearningRateTooLow => ("chart-updates", "update ratios"),
        FindingKind.UnscaledInputs => ("inputs", "input scale"),
        _ => null,
    };

    internal static string Render(ReportData data)
    {
        var d = data.Diagnosis;
        var sb = new StringBuilder();
        string title = d.RootCause is { } root ? $"{Capital(root.Title)} ({root.Severity})" : d.HasEnoughData ? "Healthy" : "Not enough data";
        sb.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        sb.Append("<meta name=\"color-scheme\" content=\"light dark\">");
        sb.Append($"<title>Gradient report: {E(title)}</title><style>").Append(DiagnosisHtml.Style).Append(PageStyle).Append("</style></head><body class=\"gh-diagnosis\">");
        sb.Append("<header><h1>Gradient report</h1>");
        sb.Append($"<p class=\"gh-meta\">{E(data.Profile?.ModelType ?? "model")}");
        if (data.Profile?.LayerOrder is { } order) sb.Append($" · {order.Layers.Count} layers, order from {order.Source}");
        sb.Append($" · {E(data.Source)} · steps {d.FirstStep}–{d.LastStep} analysed · written {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC</p></header>");
        sb.Append("<main>").Append(DiagnosisHtml.Render(d, ChartOf, withStyle: false));
        if (data.Profile?.Input is { } input) Inputs(sb, input, data.Profile.ModelType);
        Charts(sb, data);
        sb.Append("</main><footer class=\"gh-meta\">Made by GradientHooks ").Append(E(RunLogFormat.Library)).Append(". Charts: ScottPlot.</footer></body></html>");
        return sb.ToString();
    }

    private static void Charts(StringBuilder sb, ReportData data)
    {
        sb.Append("<h2>Charts</h2>");
        var full = data.History.Where(r => r.IsFull).ToList();
        if (full.Count == 0)
        {
            sb.Append("<p class=\"gh-meta\">No fully captured step yet: nothing to chart.</p>");
            return;
        }
        var single = new Dictionary<string, IReadOnlyList<StepRecord>> { ["this run"] = full };
        Chart(sb, "chart-flow", "Gradient flow: RMS and max |grad| per layer, last 50 steps", () => GradientCharts.FlowPlot(single, 50));
        Chart(sb, "chart-heatmap", "Gradient norm per layer and step (log10)", () => GradientCharts.HeatmapPlot(full));
        if (data.Losses.Count > 0) Chart(sb, "chart-loss", "Loss, with clipped, skipped and rolled-back steps", () => GradientCharts.LossPlot(data.Losses, data.History));
        Chart(sb, "chart-norm", "Total gradient norm, before and after clipping", () => GradientCharts.NormPlot(full));
        bool anyDead = full[^1].Units.Any(u => u.DeadFraction > 0), anySaturated = full.Any(r => r.Activations.Any(a => a.SaturatedFraction > 0));
        if (anyDead || anySaturated)
            Chart(sb, "chart-units", "Dead units per layer and saturated outputs per activation", () => GradientCharts.UnitsPlot(full));
        else if (full[^1].Units.Count > 0 || full.Any(r => r.Activations.Any(a => a.SaturatedFraction is not null)))
            sb.Append("<figure id=\"chart-units\"><figcaption>Dead units and saturated outputs</figcaption><p class=\"gh-meta\">None: no Linear or Conv layer has a dead unit at the last step, and no activation with a hook saturated its outputs.</p></figure>");
        if (full.Any(r => r.UpdateRatios is not null)) Chart(sb, "chart-updates", "Update ratio ‖Δw‖/‖w‖ per layer", () => GradientCharts.UpdatePlot(full));
        if (data.History.Any(r => r.NoiseScale is not null)) Chart(sb, "chart-noise", "Gradient noise scale B_simple = tr(Σ)/|G|² against the batch", () => GradientCharts.NoisePlot(data.History));
    }

    private static void Chart(StringBuilder sb, string id, string title, Func<Plot> plot)
    {
        sb.Append($"<figure id=\"{id}\"><figcaption>{E(title)}</figcaption>");
        try { sb.Append(GradientCharts.Svg(plot(), Width, Height, title)); }
        catch (ArgumentException e) { sb.Append($"<p class=\"gh-meta\">Not drawn: {E(e.Message)}</p>"); }
        sb.Append("</figure>");
    }

    private static void Inputs(StringBuilder sb, InputScale input, string? modelType)
    {
        var module = input.Module == ParameterInfo.RootLayer ? $"the model{(modelType is null ? "" : $" ({modelType})")}" : input.Module;
        sb.Append($"<h2 id=\"inputs\">Input scale</h2><p class=\"gh-meta\">The input of {E(module)}, {input.Batches} batch(es), {input.Rows} rows. Standardised features have mean 0 and standard deviation 1.</p>");
        sb.Append("<table><thead><tr><th>feature</th><th>mean</th><th>std</th><th>RMS</th></tr></thead><tbody>");
        var shown = Enumerable.Range(0, input.Features).OrderByDescending(input.Rms).Take(12).OrderBy(f => f);
        foreach (int f in shown) sb.Append($"<tr><td>{f}</td><td>{N(input.Mean[f])}</td><td>{N(input.Std[f])}</td><td>{N(input.Rms(f))}</td></tr>");
        sb.Append("</tbody></table>");
        if (input.Features > 12) sb.Append($"<p class=\"gh-meta\">The 12 largest of {input.Features} features.</p>");
    }

    private const string PageStyle = """
        body { margin: 0 auto; max-width: 1040px; padding: 1em 1.5em 3em; }
        h1 { font-size: 1.7em; margin: .2em 0; }
        figure { margin: 1.2em 0; } figcaption { font-weight: 600; margin-bottom: .3em; }
        svg.gh-chart { width: 100%; height: auto; background: #fff; border-radius: 4px; }
        @media (prefers-color-scheme: dark) { svg.gh-chart { filter: invert(.9) hue-rotate(180deg); } }
        @media print { svg.gh-chart { filter: none; } figure { break-inside: avoid; } a { color: inherit; } }
        footer { margin-top: 2em; }
        """;

    private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string N(double v) => v.ToString("0.###e+0", CultureInfo.InvariantCulture);

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
