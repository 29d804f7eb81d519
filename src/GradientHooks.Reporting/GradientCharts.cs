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
        plot.Title($"Gradient flow (steps {steps[0].Step}–{steps[^1].Step})");
        plot.XLabel("layer (input → output)");
        plot.YLabel("gradient magnitude");
        plot.ShowLegend();
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
        plot.Add.ColorBar(heatmap).Label = "log10 gradient norm";
        var rows = Enumerable.Range(0, layers.Count).Select(i => (double)(layers.Count - 1 - i)).ToArray();
        plot.Axes.Left.SetTicks(rows, layers.ToArray());
        plot.Title($"Gradient norm per layer, steps {steps[0].Step}–{steps[^1].Step}");
        plot.XLabel("captured step (index)");
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
        plot.Title("Loss");
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.ShowLegend();
        return Save(plot, path, width, height);
    }

    /// <summary>One curve per run (e.g. "no clipping" and "Clip.GlobalNorm(1)") of the loss or the gradient norm per step.</summary>
    public static string CompareRuns(IReadOnlyDictionary<string, IReadOnlyList<StepRecord>> runs, ChartMetric metric, string path, int width = 900, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0) throw new ArgumentException("CompareRuns needs at least one run.", nameof(runs));
        var plot = new Plot();
        foreach (var (name, history) in runs)
        {
            var points = history
                .Select(r => (r.Step, Value: metric == ChartMetric.Loss ? r.Loss ?? double.NaN : r.Clipping?.NormBefore ?? r.TotalNorm))
                .Where(p => double.IsFinite(p.Value)).ToList();
            if (points.Count == 0) continue;
            var s = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(),
                metric == ChartMetric.GradientNorm ? Log(points.Select(p => p.Value).ToArray()) : points.Select(p => p.Value).ToArray());
            s.LegendText = name;
            s.MarkerSize = 0;
        }
        if (metric == ChartMetric.GradientNorm) LogAxis(plot);
        plot.Title(metric == ChartMetric.Loss ? "Loss per step" : "Total gradient norm per step (before clipping)");
        plot.XLabel("step");
        plot.YLabel(metric == ChartMetric.Loss ? "loss" : "gradient norm");
        plot.ShowLegend();
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
