using System.Globalization;
using System.Net;
using System.Text;
using ScottPlot;

namespace GradientHooks.Reporting;

public static partial class GradientCharts
{
    /// <summary>
    /// The learning-rate range test (<see cref="LearningRateFinder.Run"/>): the loss after each step against its rate
    /// (log scale), the smoothed curve, and vertical lines at the suggested rate, the steepest fall and where the loss
    /// diverged. A path ending in <c>.html</c> gets a page with the chart (inline SVG) and the numbers; any other, a PNG.
    /// </summary>
    public static string LearningRateSweep(LearningRateSweep sweep, string path, int width = 900, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        if (!path.EndsWith(".html", StringComparison.OrdinalIgnoreCase)) return Save(SweepPlot(sweep), path, width, height);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(folder)) LogDirectory.Prepare(folder, nameof(path), nameof(GradientCharts));
        static string F(double? v) => v is double x ? WebUtility.HtmlEncode(GradientHooks.LearningRateSweep.Format(x)) : "—";
        var sb = new StringBuilder("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Learning-rate range test</title>");
        sb.Append("<style>body{font-family:").Append(ChartFont.CssFamily.Replace("&quot;", "'"))
          .Append(";max-width:1000px;margin:2em auto;color:#222}table{border-collapse:collapse}td,th{padding:4px 12px;border-bottom:1px solid #ddd;text-align:left}.gh-chart{width:100%;height:auto}</style></head><body>");
        sb.Append("<h1>Learning-rate range test</h1><p>")
          .Append(WebUtility.HtmlEncode($"{sweep.Rates.Count} steps from {GradientHooks.LearningRateSweep.Format(sweep.StartRate)} towards {GradientHooks.LearningRateSweep.Format(sweep.EndRate)}; the model and optimizer were restored afterwards."))
          .Append("</p><table>")
          .Append($"<tr><th>Suggested rate</th><td><b>{F(sweep.Suggested)}</b></td><td>the smaller of the two below</td></tr>")
          .Append($"<tr><th>Steepest fall of the loss</th><td>{F(sweep.Steepest)}</td><td>most negative slope of the smoothed log-loss</td></tr>")
          .Append($"<tr><th>An order below divergence</th><td>{F(sweep.BelowDivergence)}</td><td>{(sweep.Diverged ? "diverged at " + F(sweep.DivergedAt) : "did not diverge: a tenth of the rate of the lowest loss, " + F(sweep.Minimum))}</td></tr>")
          .Append($"<tr><th>Loss before the sweep</th><td>{WebUtility.HtmlEncode(sweep.InitialLoss.ToString("G4", CultureInfo.InvariantCulture))}</td><td></td></tr>")
          .Append("</table><figure>").Append(Svg(SweepPlot(sweep), width, height, "Loss against learning rate")).Append("</figure></body></html>");
        File.WriteAllText(full, sb.ToString());
        return full;
    }

    /// <summary>
    /// The gradient noise scale per step (<see cref="StepRecord.NoiseScale"/>, whole model and per layer) against the
    /// batch the steps used (<see cref="StepRecord.BatchExamples"/>), log scale.
    /// </summary>
    public static string NoiseScale(IReadOnlyList<StepRecord> history, string path, int width = 900, int height = 500) => Save(NoisePlot(history), path, width, height);

    internal static Plot SweepPlot(LearningRateSweep sweep)
    {
        if (sweep.Rates.Count == 0) throw new ArgumentException("The sweep has no step to draw.", nameof(sweep));
        var plot = new Plot();
        var finite = sweep.Rates.Zip(sweep.Losses).Where(p => double.IsFinite(p.Second)).ToList();
        // Log scale when the smoothed curve spans more than a decade (a regression's loss falling from 100 to 1); the
        // diverged points after it are clipped by the limits below either way.
        var curve = sweep.SmoothedLosses.Where(double.IsFinite).Append(sweep.InitialLoss).ToList();
        bool logY = finite.All(p => p.Second > 0) && curve.All(v => v > 0) && curve.Max() > 10 * curve.Min();
        double Y(double v) => logY ? Math.Log10(v) : v;
        var xs = finite.Select(p => Math.Log10(p.First)).ToArray();
        var raw = plot.Add.Markers(xs, finite.Select(p => Y(p.Second)).ToArray(), MarkerShape.FilledCircle, 4, Colors.Gray.WithAlpha(0.6));
        raw.LegendText = "loss after the step";
        var smooth = plot.Add.Scatter(sweep.Rates.Take(sweep.SmoothedLosses.Count).Select(Math.Log10).ToArray(), sweep.SmoothedLosses.Select(Y).ToArray());
        smooth.MarkerSize = 0;
        smooth.LineWidth = 2;
        smooth.Color = Colors.Navy;
        smooth.LegendText = "smoothed";
        void Line(double? rate, Color color, string label, bool dashed)
        {
            if (rate is not double r) return;
            var line = plot.Add.VerticalLine(Math.Log10(r), 1.5f, color);
            line.LegendText = $"{label} {GradientHooks.LearningRateSweep.Format(r)}";
            if (dashed) line.LinePattern = LinePattern.Dashed;
        }
        Line(sweep.Suggested, Colors.Green, "suggested", false);
        if (sweep.Steepest != sweep.Suggested) Line(sweep.Steepest, Colors.Teal, "steepest fall", true);
        Line(sweep.DivergedAt, Colors.Red, "diverged at", false);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = x => GradientHooks.LearningRateSweep.Format(Math.Pow(10, x)),
            IntegerTicksOnly = true,
        };
        if (logY) LogAxis(plot);
        // The curve up to where it blew up: a diverged loss would flatten everything before it.
        var kept = sweep.SmoothedLosses.Where(double.IsFinite).ToList();
        if (kept.Count > 0)
        {
            double low = kept.Min(), high = Math.Max(kept.Max(), sweep.InitialLoss);
            double lo = Y(low), hi = Y(high), pad = Math.Max(1e-9, 0.1 * (hi - lo));
            plot.Axes.SetLimitsY(lo - pad, hi + 3 * pad);
        }
        plot.Title("Learning-rate range test: loss against rate");
        plot.XLabel("learning rate (log scale)");
        plot.YLabel(logY ? "loss (log scale)" : "loss");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    internal static Plot NoisePlot(IReadOnlyList<StepRecord> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var measured = history.Where(r => r.NoiseScale is double b && b > 0).ToList();
        if (measured.Count == 0)
            throw new ArgumentException("No step has a noise scale: attach the monitor with MonitorOptions.TrackNoiseScale and call CaptureMicroBatch after each micro-batch's backward.", nameof(history));
        var plot = new Plot();
        var xs = measured.Select(r => (double)r.Step).ToArray();
        var total = plot.Add.Scatter(xs, Log(measured.Select(r => r.NoiseScale!.Value).ToArray()));
        total.MarkerSize = 0;
        total.LineWidth = 2;
        total.LegendText = "B_simple, whole model";
        foreach (var layer in measured[^1].LayerNoise.Select(n => n.Layer))
        {
            var points = measured.Select(r => (r.Step, Scale: r.LayerNoise.FirstOrDefault(n => n.Layer == layer)?.Simple)).Where(p => p.Scale is double s && s > 0).ToList();
            if (points.Count == 0) continue;
            var s = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), Log(points.Select(p => p.Scale!.Value).ToArray()));
            s.MarkerSize = 0;
            s.LineWidth = 1;
            s.LegendText = layer;
        }
        var batches = measured.Where(r => r.BatchExamples is long).ToList();
        if (batches.Count > 0)
        {
            var b = plot.Add.Scatter(batches.Select(r => (double)r.Step).ToArray(), Log(batches.Select(r => (double)r.BatchExamples!.Value).ToArray()));
            b.MarkerSize = 0;
            b.Color = Colors.Black;
            b.LinePattern = LinePattern.Dashed;
            b.LegendText = "batch (examples)";
        }
        LogAxis(plot);
        plot.Title("Gradient noise scale tr(Σ)/|G|² against the batch");
        plot.XLabel("step");
        plot.YLabel("examples");
        plot.ShowLegend(Edge.Right);
        return plot;
    }
}
