using ScottPlot;

namespace GradientHooks.Reporting;

/// <summary>
/// PNG charts of a monitor's history (ScottPlot): the gradient-flow chart (per-layer gradient magnitude from the
/// first layer to the last, log scale, like the classic <c>plot_grad_flow</c>), a per-layer norm heatmap over steps,
/// the loss curve with clip events marked, and run comparisons. Each method writes the file and returns its full
/// path.
/// </summary>
public static partial class GradientCharts
{
    private const double Floor = 1e-30;   // log10 of a zero gradient is drawn at 1e-30
    private const double FlatRange = 0.1; // a loss moving less than this fraction of its level is drawn on ±this

    /// <summary>
    /// Gradient flow: for each layer, first (input side) to last, the RMS of its gradient (sqrt(Σg²/n), the size-scaled
    /// magnitude; plot_grad_flow's mean |g| is at most this) and its max |g|, averaged (RMS) and maximised (max-abs)
    /// over the last <paramref name="lastSteps"/> full steps; log scale. A vanishing network slopes down to the left.
    /// </summary>
    public static string GradientFlow(IReadOnlyList<StepRecord> history, string path, int lastSteps = 1, int width = 900, int height = 500)
    {
        var steps = FullSteps(history, nameof(history)).TakeLast(Math.Max(1, lastSteps)).ToList();
        var layers = steps[^1].Layers;
        double[] xs = Enumerable.Range(0, layers.Count).Select(i => (double)i).ToArray();
        double[] rms = layers.Select(l => Math.Sqrt(steps.Average(s => Sq(s.Layers.First(x => x.Layer == l.Layer).Gradient.Rms)))).ToArray();
        double[] max = layers.Select(l => steps.Max(s => s.Layers.First(x => x.Layer == l.Layer).Gradient.MaxAbs)).ToArray();

        var plot = new Plot();
        var a = plot.Add.Scatter(xs, Log(rms));
        a.LegendText = "RMS |grad|";
        a.LineWidth = 2;
        a.MarkerSize = 8;
        var b = plot.Add.Scatter(xs, Log(max));
        b.LegendText = "max |grad|";
        b.LineWidth = 2;
        b.MarkerSize = 8;
        plot.Axes.Bottom.SetTicks(xs, layers.Select(l => l.Layer).ToArray());
        LogAxis(plot);
        plot.Title($"Gradient flow, layers in data-flow order (steps {steps[0].Step}–{steps[^1].Step})");
        plot.XLabel("layer (input → output)");
        plot.YLabel("gradient magnitude");
        plot.ShowLegend(Edge.Right);
        return Save(plot, path, width, height);
    }

    /// <summary>
    /// Gradient flow of several runs on one chart (for example a model before and after a remedy, or without and with
    /// clipping): for each run, the RMS of each layer's gradient (solid) and its max |g| (dashed) over the run's last
    /// <paramref name="lastSteps"/> full steps, layers in data-flow order; a layer only one run has (a BatchNorm the
    /// remedy inserted) sits after the layer that precedes it in that run. Log scale, legend beside the plot.
    /// </summary>
    public static string GradientFlow(IReadOnlyDictionary<string, IReadOnlyList<StepRecord>> runs, string path, int lastSteps = 50, int width = 1000, int height = 520)
        => Save(FlowPlot(runs, lastSteps), path, width, height);

    internal static Plot FlowPlot(IReadOnlyDictionary<string, IReadOnlyList<StepRecord>> runs, int lastSteps)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0) throw new ArgumentException("GradientFlow needs at least one run.", nameof(runs));
        var windows = runs.ToDictionary(r => r.Key, r => FullSteps(r.Value, nameof(runs)).TakeLast(Math.Max(1, lastSteps)).ToList());
        var order = new List<string>();
        foreach (var steps in windows.Values)
        {
            string? previous = null;
            foreach (var layer in steps[^1].Layers.Select(l => l.Layer))
            {
                if (!order.Contains(layer)) order.Insert(previous is null ? 0 : order.IndexOf(previous) + 1, layer);
                previous = layer;
            }
        }
        var plot = new Plot();
        foreach (var (name, steps) in windows)
        {
            var layers = steps[^1].Layers.Select(l => l.Layer).ToList();
            double[] xs = layers.Select(l => (double)order.IndexOf(l)).ToArray();
            double[] rms = layers.Select(l => Math.Sqrt(steps.Average(s => Sq(s.Layers.First(x => x.Layer == l).Gradient.Rms)))).ToArray();
            double[] max = layers.Select(l => steps.Max(s => s.Layers.First(x => x.Layer == l).Gradient.MaxAbs)).ToArray();
            var a = plot.Add.Scatter(xs, Log(rms));
            a.LegendText = $"{name}: RMS |grad|";
            a.LineWidth = 2;
            a.MarkerSize = 7;
            var b = plot.Add.Scatter(xs, Log(max));
            b.LegendText = $"{name}: max |grad|";
            b.LineWidth = 1;
            b.MarkerSize = 4;
            b.Color = a.Color;
            b.LinePattern = LinePattern.Dashed;
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, order.Count).Select(i => (double)i).ToArray(), order.ToArray());
        Rotate(plot, order);   // many layers: names at 45°, with room below them for the axis label
        LogAxis(plot);
        plot.Title("Gradient flow, layers in data-flow order");
        plot.XLabel("layer (input → output)");
        plot.YLabel("gradient magnitude");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>Heatmap of log10 ‖g‖ per layer (rows, first layer on top) and captured step (columns).</summary>
    public static string NormHeatmap(IReadOnlyList<StepRecord> history, string path, int width = 1000, int height = 500)
        => Save(HeatmapPlot(history), path, width, height);

    internal static Plot HeatmapPlot(IReadOnlyList<StepRecord> history)
    {
        var steps = FullSteps(history, nameof(history)).ToList();
        var layers = steps[^1].Layers.Select(l => l.Layer).ToList();
        var data = new double[layers.Count, steps.Count];
        for (int r = 0; r < layers.Count; r++)
            for (int c = 0; c < steps.Count; c++)
            {
                var layer = steps[c].Layers.FirstOrDefault(l => l.Layer == layers[r]);
                data[r, c] = layer is null ? double.NaN : Math.Log10(Math.Max(layer.Gradient.Norm, Floor));
            }
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(data);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        // Cells span the captured steps' numbers, rows the layers (first on top): the axes read in steps, not indices.
        double first = steps[0].Step, last = steps[^1].Step, half = steps.Count > 1 ? (last - first) / (steps.Count - 1) / 2 : 0.5;
        heatmap.Extent = new CoordinateRect(first - half, last + half, -0.5, layers.Count - 0.5);
        plot.Add.ColorBar(heatmap).Label = "log10 gradient norm";
        var rows = Enumerable.Range(0, layers.Count).Select(i => (double)(layers.Count - 1 - i)).ToArray();
        plot.Axes.Left.SetTicks(rows, layers.ToArray());
        plot.Axes.SetLimits(first - half, last + half, -0.5, layers.Count - 0.5);
        plot.Title($"Gradient norm per layer (rows in data-flow order), steps {steps[0].Step}–{steps[^1].Step}");
        plot.XLabel("step");
        return plot;
    }

    /// <summary>The loss per step, with clipped steps marked (orange) and skipped steps marked (red).</summary>
    public static string LossCurve(IReadOnlyList<StepRecord> history, string path, int width = 900, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(history);
        var losses = history.Where(r => r.Loss is double l && double.IsFinite(l)).Select(r => (r.Step, r.Loss!.Value)).ToList();
        if (losses.Count == 0)
            throw new ArgumentException("LossCurve needs steps with a loss: pass the loss to monitor.Capture(loss).", nameof(history));
        return Save(LossPlot(losses, history), path, width, height);
    }

    /// <summary>The loss per step, with the clipped, skipped and rolled-back steps of <paramref name="marks"/> marked.</summary>
    internal static Plot LossPlot(IReadOnlyList<(long Step, double Loss)> losses, IReadOnlyList<StepRecord> marks)
    {
        var plot = new Plot();
        var line = plot.Add.Scatter(losses.Select(l => (double)l.Step).ToArray(), losses.Select(l => l.Loss).ToArray());
        line.LegendText = "loss";
        line.MarkerSize = 0;
        double At(StepRecord r) => r.Loss is double l && double.IsFinite(l) ? l : losses.LastOrDefault(x => x.Step <= r.Step, losses[0]).Loss;
        Mark(plot, marks.Where(r => r.Clipping?.Clipped == true && !r.Skipped).Select(r => (r.Step, At(r))).ToList(), "clipped", Colors.Orange, MarkerShape.FilledCircle);
        Mark(plot, marks.Where(r => r.Skipped && r.Rollback is null).Select(r => (r.Step, At(r))).ToList(), "skipped", Colors.Red, MarkerShape.Cross);
        Mark(plot, marks.Where(r => r.Rollback is not null).Select(r => (r.Step, At(r))).ToList(), "rolled back", Colors.Purple, MarkerShape.FilledDiamond);
        double low = losses.Min(l => l.Loss), high = losses.Max(l => l.Loss), middle = (low + high) / 2;
        if (high - low < FlatRange * Math.Abs(middle))
        {
            // A flat loss stays flat: the axis spans ±10 % of its level, instead of zooming 1.0986–1.0996 into a slope.
            plot.Axes.SetLimitsY(middle - FlatRange * Math.Abs(middle), middle + FlatRange * Math.Abs(middle));
            plot.Title($"Loss (flat: it moves over {(high - low) / Math.Abs(middle):P2} of its level; axis ±{FlatRange:P0})");
        }
        else plot.Title("Loss");
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>
    /// One curve per run (e.g. "no clipping" and "Clip.GlobalNorm(1)") of the loss or the gradient norm per step. The
    /// gradient norm is always on a log scale, the loss when the runs' values span more than ×10 (a run that blew up
    /// next to one that learned). Legend beside the plot.
    /// </summary>
    public static string CompareRuns(IReadOnlyDictionary<string, IReadOnlyList<StepRecord>> runs, ChartMetric metric, string path, int width = 900, int height = 500)
        => CompareRuns(runs, metric, path, null, width, height);

    /// <summary>
    /// As <see cref="CompareRuns(IReadOnlyDictionary{string, IReadOnlyList{StepRecord}}, ChartMetric, string, int, int)"/>,
    /// with <paramref name="threshold"/> (a clip threshold, on the gradient-norm chart) drawn as a dashed line.
    /// </summary>
    public static string CompareRuns(IReadOnlyDictionary<string, IReadOnlyList<StepRecord>> runs, ChartMetric metric, string path, double? threshold, int width = 900, int height = 500)
        => Save(ComparePlot(runs, metric, threshold), path, width, height);

    internal static Plot ComparePlot(IReadOnlyDictionary<string, IReadOnlyList<StepRecord>> runs, ChartMetric metric, double? threshold)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0) throw new ArgumentException("CompareRuns needs at least one run.", nameof(runs));
        if (threshold is double t && !(t > 0 && double.IsFinite(t))) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The clip threshold must be a finite number > 0.");
        var plot = new Plot();
        var series = runs.Select(r => (r.Key, Points: r.Value
                .Select(x => (x.Step, Value: metric == ChartMetric.Loss ? x.Loss ?? double.NaN : x.Clipping?.NormBefore ?? x.TotalNorm))
                .Where(p => double.IsFinite(p.Value) && (metric == ChartMetric.Loss || p.Value > 0)).ToList()))
            .Where(r => r.Points.Count > 0).ToList();
        var values = series.SelectMany(r => r.Points.Select(p => p.Value)).ToList();
        bool log = metric == ChartMetric.GradientNorm || values.Count > 0 && values.Min() > 0 && values.Max() / values.Min() > 10;
        foreach (var (name, points) in series)
        {
            var ys = points.Select(p => p.Value).ToArray();
            var s = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), log ? Log(ys) : ys);
            s.LegendText = name;
            s.MarkerSize = 0;
        }
        if (threshold is double limit)
        {
            var line = plot.Add.HorizontalLine(log ? Math.Log10(limit) : limit);
            line.LinePattern = LinePattern.Dashed;
            line.LegendText = $"clip threshold {limit.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)}";
        }
        if (log) LogAxis(plot);
        plot.Title(metric == ChartMetric.Loss ? $"Loss per step{(log ? " (log scale)" : "")}" : "Total gradient norm per step (before clipping)");
        plot.XLabel("step");
        plot.YLabel(metric == ChartMetric.Loss ? "loss" : "gradient norm");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    private static IEnumerable<StepRecord> FullSteps(IReadOnlyList<StepRecord> history, string name)
    {
        ArgumentNullException.ThrowIfNull(history, name);
        var full = history.Where(r => r.IsFull).ToList();
        if (full.Count == 0) throw new ArgumentException("The history has no fully captured step yet: call monitor.Capture() after backward() first.", name);
        return full;
    }

    private static void Mark(Plot plot, List<(long Step, double Loss)> points, string label, Color color, MarkerShape shape)
    {
        if (points.Count == 0) return;
        var m = plot.Add.Markers(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Loss).ToArray(), shape, 7, color);
        m.LegendText = $"{label} ({points.Count})";
    }

    /// <summary>
    /// Per layer, in data-flow order: the fraction of dead units at the end of the history (Linear/Conv, from the
    /// gradients) and, per activation module with a hook, the median fraction of saturated outputs.
    /// </summary>
    internal static Plot UnitsPlot(IReadOnlyList<StepRecord> history)
    {
        var steps = FullSteps(history, nameof(history)).ToList();
        var last = steps[^1];
        var names = new List<string>();
        var values = new List<double>();
        var colors = new List<Color>();
        foreach (var u in last.Units) { names.Add(u.Layer); values.Add(u.DeadFraction); colors.Add(Colors.SteelBlue); }
        foreach (var g in steps.SelectMany(r => r.Activations).Where(a => a.SaturatedFraction is not null).GroupBy(a => a.Module))
        {
            var sorted = g.Select(a => a.SaturatedFraction!.Value).OrderBy(v => v).ToList();
            names.Add(g.Key); values.Add(sorted[sorted.Count / 2]); colors.Add(Colors.DarkOrange);
        }
        var plot = new Plot();
        for (int i = 0; i < values.Count; i++)
        {
            var bar = plot.Add.Bar(i, values[i] * 100);
            bar.Color = colors[i];
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, names.Count).Select(i => (double)i).ToArray(), names.ToArray());
        Rotate(plot, names);
        plot.Axes.SetLimitsY(0, 105);
        plot.Title("Dead units per layer (blue) and saturated outputs per activation (orange), %");
        plot.YLabel("%");
        return plot;
    }

    /// <summary>Median update ratio ‖Δw‖/‖w‖ per layer (data-flow order), log scale, with the usual 1e−3 as a dashed line.</summary>
    internal static Plot UpdatePlot(IReadOnlyList<StepRecord> history)
    {
        var steps = FullSteps(history, nameof(history)).Where(r => r.UpdateRatios is not null).ToList();
        var plot = new Plot();
        if (steps.Count > 0)
        {
            var layers = steps[^1].Layers.Select(l => l.Layer).ToList();
            double[] medians = layers.Select(l =>
            {
                var v = steps.Select(r => r.Layers.FirstOrDefault(x => x.Layer == l)?.UpdateRatio).OfType<double>().OrderBy(x => x).ToList();
                return v.Count == 0 ? double.NaN : v[v.Count / 2];
            }).ToArray();
            // A layer whose weights did not move (ratio 0) has no place on a log axis: it is named in the legend instead.
            var moved = Enumerable.Range(0, layers.Count).Where(i => medians[i] > 0 && double.IsFinite(medians[i])).ToArray();
            var s = plot.Add.Scatter(moved.Select(i => (double)i).ToArray(), Log(moved.Select(i => medians[i]).ToArray()));
            s.LegendText = "median ‖Δw‖/‖w‖";
            s.MarkerSize = 7;
            var still = Enumerable.Range(0, layers.Count).Where(i => medians[i] == 0).Select(i => layers[i]).ToList();
            if (still.Count > 0)
            {
                var none = plot.Add.Markers(Array.Empty<double>(), Array.Empty<double>());
                none.LegendText = $"not moving (0): {string.Join(", ", still.Take(4))}{(still.Count > 4 ? $" +{still.Count - 4}" : "")}";
            }
            var usual = plot.Add.HorizontalLine(-3);
            usual.LinePattern = LinePattern.Dashed;
            usual.LegendText = "usual 1e-3";
            plot.Axes.Bottom.SetTicks(Enumerable.Range(0, layers.Count).Select(i => (double)i).ToArray(), layers.ToArray());
            plot.Axes.SetLimitsX(-0.5, layers.Count - 0.5);   // every layer's tick, a layer with no point included
            var shown = Log(moved.Select(i => medians[i]).ToArray()).Append(-3.0).ToArray();   // the usual 1e-3 always in view
            plot.Axes.SetLimitsY(Math.Floor(shown.Min() - 0.25), Math.Ceiling(shown.Max() + 0.25));
            Rotate(plot, layers);
            LogAxis(plot);
            plot.ShowLegend(Edge.Right);
        }
        plot.Title("Update ratio per layer, data-flow order");
        plot.YLabel("‖Δw‖/‖w‖ per step");
        return plot;
    }

    /// <summary>The total gradient norm per step before clipping, the clipping policy's threshold, and where the policy clipped, the norm after it.</summary>
    internal static Plot NormPlot(IReadOnlyList<StepRecord> history)
    {
        var steps = FullSteps(history, nameof(history)).ToList();
        var plot = new Plot();
        var before = steps.Select(r => (r.Step, Norm: r.Clipping?.NormBefore ?? r.TotalNorm)).Where(p => double.IsFinite(p.Norm) && p.Norm > 0).ToList();
        var s = plot.Add.Scatter(before.Select(p => (double)p.Step).ToArray(), Log(before.Select(p => p.Norm).ToArray()));
        s.LegendText = "total norm";
        s.MarkerSize = 0;
        // The policy's threshold on the total norm (global norm: its max norm; AutoClip: the moving percentile).
        var thresholds = steps.Where(r => r.Clipping?.Threshold is double t && double.IsFinite(t) && t > 0).ToList();
        if (thresholds.Count > 0)
        {
            var t = plot.Add.Scatter(thresholds.Select(r => (double)r.Step).ToArray(), Log(thresholds.Select(r => r.Clipping!.Threshold!.Value).ToArray()));
            t.Color = Colors.DarkRed;
            t.MarkerSize = 0;
            t.LineWidth = 1.5f;
            double first = thresholds[0].Clipping!.Threshold!.Value;
            t.LegendText = thresholds.All(r => r.Clipping!.Threshold == first) ? $"clip threshold {first:G3}" : "clip threshold";
        }
        var clipped = steps.Where(r => r.Clipping is { Clipped: true } c && double.IsFinite(c.NormAfter) && c.NormAfter > 0).ToList();
        if (clipped.Count > 0)
        {
            var m = plot.Add.Markers(clipped.Select(r => (double)r.Step).ToArray(), Log(clipped.Select(r => r.Clipping!.NormAfter).ToArray()), MarkerShape.FilledCircle, 5, Colors.Orange);
            m.LegendText = $"after clipping ({clipped.Count})";
        }
        var skipped = steps.Where(r => r.Skipped).ToList();
        if (skipped.Count > 0)
        {
            var m = plot.Add.Markers(skipped.Select(r => (double)r.Step).ToArray(), Log(skipped.Select(r => r.Clipping?.NormBefore ?? r.TotalNorm).ToArray()), MarkerShape.Cross, 7, Colors.Red);
            m.LegendText = $"skipped ({skipped.Count})";
        }
        LogAxis(plot);
        plot.Title("Total gradient norm per step (before clipping)");
        plot.XLabel("step");
        plot.YLabel("gradient norm");
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    private static void Rotate(Plot plot, IReadOnlyList<string> names)
    {
        if (names.Count <= 10) return;
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 30 + 7 * names.Max(l => l.Length);
    }

    /// <summary>A plot as inline SVG for an HTML page: no XML declaration, scaled to the page's width.</summary>
    internal static string Svg(Plot plot, int width, int height, string label)
    {
        // Skia's SVG canvas has no dash effect (it warns on stderr for each): dashed lines are drawn solid in SVG.
        foreach (var p in plot.GetPlottables())
        {
            if (p is ScottPlot.Plottables.Scatter s) s.LinePattern = LinePattern.Solid;
            else if (p is ScottPlot.Plottables.HorizontalLine h) h.LinePattern = LinePattern.Solid;
        }
        plot.Font.Set(ChartFont.Name);
        var xml = plot.GetSvgXml(width, height);
        int start = xml.IndexOf("<svg", StringComparison.Ordinal);
        // Laid out with this machine's sans-serif font; the reader's machine may lack it, so name the usual ones after it.
        var svg = FontFamily().Replace(xml[start..], $"font-family=\"{ChartFont.CssFamily}\"");
        return svg.Replace($"width=\"{width}\" height=\"{height}\"",
            $"viewBox=\"0 0 {width} {height}\" preserveAspectRatio=\"xMidYMid meet\" class=\"gh-chart\" role=\"img\" aria-label=\"{System.Net.WebUtility.HtmlEncode(label)}\"", StringComparison.Ordinal);
    }

    [System.Text.RegularExpressions.GeneratedRegex("font-family=\"([^\"]*)\"")]
    private static partial System.Text.RegularExpressions.Regex FontFamily();

    private static double Sq(double x) => x * x;

    private static double[] Log(double[] values) => values.Select(v => Math.Log10(double.IsFinite(v) ? Math.Max(v, Floor) : Floor)).ToArray();

    private static void LogAxis(Plot plot)
    {
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = y => Math.Pow(10, y).ToString("0.#e+0", System.Globalization.CultureInfo.InvariantCulture),
            IntegerTicksOnly = true,
        };
    }

    private static string Save(Plot plot, string path, int width, int height)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (width < 100 || height < 100) throw new ArgumentOutOfRangeException(nameof(width), $"Chart size {width}×{height} is too small; use at least 100×100.");
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(folder)) LogDirectory.Prepare(folder, nameof(path), nameof(GradientCharts));
        plot.Font.Set(ChartFont.Name);
        plot.SavePng(full, width, height);
        return full;
    }
}
