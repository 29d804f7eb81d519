using ScottPlot;

namespace GradientHooks.Reporting;

/// <summary>
/// PNG charts of a monitor's history (ScottPlot): the gradient-flow chart (per-layer gradient magnitude from the
/// first layer to the last, log scale, like the classic <c>plot_grad_flow</c>), a per-layer norm heatmap over steps,
/// the loss curve with clip events marked, and run comparisons. Each method writes the file and returns its full
/// path.
/// </summary>
public static class GradientCharts
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
        if (order.Count > 10)
        {
            // Many layers: names at 45°, with room below them for the axis label.
            plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            plot.Axes.Bottom.MinimumSize = 30 + 7 * order.Max(l => l.Length);
        }
        LogAxis(plot);
        plot.Title("Gradient flow, layers in data-flow order");
        plot.XLabel("layer (input → output)");
        plot.YLabel("gradient magnitude");
        plot.ShowLegend(Edge.Right);
        return Save(plot, path, width, height);
    }

    /// <summary>Heatmap of log10 ‖g‖ per layer (rows, first layer on top) and captured step (columns).</summary>
    public static string NormHeatmap(IReadOnlyList<StepRecord> history, string path, int width = 1000, int height = 500)
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
        return Save(plot, path, width, height);
    }

    /// <summary>The loss per step, with clipped steps marked (orange) and skipped steps marked (red).</summary>
    public static string LossCurve(IReadOnlyList<StepRecord> history, string path, int width = 900, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(history);
        var withLoss = history.Where(r => r.Loss is double l && double.IsFinite(l)).ToList();
        if (withLoss.Count == 0)
            throw new ArgumentException("LossCurve needs steps with a loss: pass the loss to monitor.Capture(loss).", nameof(history));
        var plot = new Plot();
        var line = plot.Add.Scatter(withLoss.Select(r => (double)r.Step).ToArray(), withLoss.Select(r => r.Loss!.Value).ToArray());
        line.LegendText = "loss";
        line.MarkerSize = 0;
        Mark(plot, withLoss.Where(r => r.Clipping?.Clipped == true && !r.Skipped).ToList(), "clipped", Colors.Orange, MarkerShape.FilledCircle);
        Mark(plot, history.Where(r => r.Skipped).Select(r => r with { Loss = r.Loss is double l && double.IsFinite(l) ? l : withLoss[^1].Loss }).ToList(), "skipped", Colors.Red, MarkerShape.Cross);
        double low = withLoss.Min(r => r.Loss!.Value), high = withLoss.Max(r => r.Loss!.Value), middle = (low + high) / 2;
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
        return Save(plot, path, width, height);
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
        return Save(plot, path, width, height);
    }

    private static IEnumerable<StepRecord> FullSteps(IReadOnlyList<StepRecord> history, string name)
    {
        ArgumentNullException.ThrowIfNull(history, name);
        var full = history.Where(r => r.IsFull).ToList();
        if (full.Count == 0) throw new ArgumentException("The history has no fully captured step yet: call monitor.Capture() after backward() first.", name);
        return full;
    }

    private static void Mark(Plot plot, List<StepRecord> steps, string label, Color color, MarkerShape shape)
    {
        if (steps.Count == 0) return;
        var m = plot.Add.Markers(steps.Select(r => (double)r.Step).ToArray(), steps.Select(r => r.Loss ?? 0).ToArray(), shape, 7, color);
        m.LegendText = $"{label} ({steps.Count})";
    }

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
        plot.SavePng(full, width, height);
        return full;
    }
}
