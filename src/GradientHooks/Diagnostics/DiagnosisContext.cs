namespace GradientHooks.Diagnostics;

/// <summary>What the rules look at: the window of full steps, the per-layer summaries and the losses.</summary>
internal sealed class DiagnosisContext
{
    public DiagnosisContext(IReadOnlyList<StepRecord> history, DiagnosticThresholds thresholds)
    {
        History = history;
        Thresholds = thresholds;
        // Steps with NaN/Inf gradients are left to the non-finite rule: their statistics (and the activations of a
        // model whose weights went NaN) say nothing about vanishing, dying units or saturation.
        var full = history.Where(r => r.IsFull && !r.HasNonFinite).ToList();
        Window = full.Skip(Math.Max(0, full.Count - thresholds.Window)).ToList();
        Layers = SummarizeLayers(Window);
        AllLosses = history.Where(r => r.Loss is double l && double.IsFinite(l)).Select(r => (r.Step, r.Loss!.Value)).ToList();
        FirstLoss = AllLosses.Count > 0 ? AllLosses[0].Loss : null;
        WindowLosses = Window.Count > 0
            ? history.Where(r => r.Step >= Window[0].Step && r.Loss is double l && double.IsFinite(l)).Select(r => r.Loss!.Value).ToList()
            : new List<double>();
        Recurrent = history.Count > 0 && history[0].Parameters.Any(p => p.Name.Contains("weight_hh", StringComparison.Ordinal));
    }

    public IReadOnlyList<StepRecord> History { get; }
    public DiagnosticThresholds Thresholds { get; }
    public IReadOnlyList<StepRecord> Window { get; }
    public IReadOnlyList<LayerSummary> Layers { get; }
    public IReadOnlyList<double> WindowLosses { get; }
    public double? FirstLoss { get; }

    /// <summary>Every finite loss in the history, oldest first.</summary>
    public IReadOnlyList<(long Step, double Loss)> AllLosses { get; }
    public bool Recurrent { get; }

    /// <summary>Median of each activation module's statistic over the window, in module order.</summary>
    public IEnumerable<(ActivationStats Example, double Median)> ActivationMedians(Func<ActivationStats, double?> select)
    {
        return Window.SelectMany(r => r.Activations)
            .Where(a => select(a) is not null)
            .GroupBy(a => a.Module)
            .Select(g => (g.First(), Median(g.Select(a => select(a)!.Value))));
    }

    public static double Median(IEnumerable<double> values)
    {
        var s = values.Where(v => !double.IsNaN(v)).OrderBy(v => v).ToList();
        if (s.Count == 0) return double.NaN;
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static List<LayerSummary> SummarizeLayers(IReadOnlyList<StepRecord> window)
    {
        if (window.Count == 0) return new List<LayerSummary>();
        var names = window[^1].Layers.Select(l => l.Layer).ToList();
        var rms = names.Select(n => Median(window.Select(r => r.Layers.First(l => l.Layer == n).Gradient.Rms))).ToList();
        var norms = names.Select(n => Median(window.Select(r => r.Layers.First(l => l.Layer == n).Gradient.Norm))).ToList();
        var updates = names.Select(n =>
        {
            var u = window.Select(r => r.Layers.First(l => l.Layer == n).UpdateRatio).Where(v => v is not null).Select(v => v!.Value).ToList();
            return u.Count == 0 ? (double?)null : Median(u);
        }).ToList();
        double last = rms[^1];
        return names.Select((n, i) => new LayerSummary(n, i, rms[i], norms[i], last > 0 ? rms[i] / last : double.NaN, updates[i])).ToList();
    }
}
