namespace GradientHooks.Diagnostics;

/// <summary>What the rules look at: the window of full steps, the per-layer summaries, the losses and the model's profile.</summary>
internal sealed class DiagnosisContext
{
    public DiagnosisContext(IReadOnlyList<StepRecord> history, DiagnosticThresholds thresholds, ModelProfile? profile)
    {
        History = history;
        Thresholds = thresholds;
        Profile = profile;
        // Steps with NaN/Inf gradients are left to the non-finite rule: their statistics (and the activations of a
        // model whose weights went NaN) say nothing about vanishing, dying units or saturation.
        var full = history.Where(r => r.IsFull && !r.HasNonFinite).ToList();
        Window = full.Skip(Math.Max(0, full.Count - thresholds.Window)).ToList();
        Units = Window.Count > 0 ? Window[^1].Units : Array.Empty<UnitStats>();
        Layers = SummarizeLayers(Window, Units);
        AllLosses = history.Where(r => r.Loss is double l && double.IsFinite(l)).Select(r => (r.Step, r.Loss!.Value)).ToList();
        FirstLoss = AllLosses.Count > 0 ? AllLosses[0].Loss : null;
        WindowLosses = Window.Count > 0
            ? history.Where(r => r.Step >= Window[0].Step && r.Loss is double l && double.IsFinite(l)).Select(r => r.Loss!.Value).ToList()
            : new List<double>();
        Recurrent = profile?.Recurrent ?? (history.Count > 0 && history[0].Parameters.Any(p => p.Name.Contains("weight_hh", StringComparison.Ordinal)));
    }

    public IReadOnlyList<StepRecord> History { get; }
    public DiagnosticThresholds Thresholds { get; }

    /// <summary>The model's profile, when the diagnosis came from a monitor; null for a bare history.</summary>
    public ModelProfile? Profile { get; }

    public IReadOnlyList<StepRecord> Window { get; }
    public IReadOnlyList<LayerSummary> Layers { get; }

    /// <summary>Unit statistics of the window's last step (dead units are counted over the streak, so the last step holds the verdict).</summary>
    public IReadOnlyList<UnitStats> Units { get; }

    public IReadOnlyList<double> WindowLosses { get; }
    public double? FirstLoss { get; }

    /// <summary>Every finite loss in the history, oldest first.</summary>
    public IReadOnlyList<(long Step, double Loss)> AllLosses { get; }
    public bool Recurrent { get; }

    /// <summary>Layers through which some gradient flows, first to last.</summary>
    public IReadOnlyList<LayerSummary> FlowingLayers => Layers.Where(l => !l.PassesNoGradient && l.FlowingRms > 0).ToList();

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

    /// <summary>Median absolute deviation from the median, scaled by 1.4826 so that it estimates σ for normal data.</summary>
    public static double ScaledMad(IReadOnlyList<double> values, double median) => 1.4826 * Median(values.Select(v => Math.Abs(v - median)));

    private static List<LayerSummary> SummarizeLayers(IReadOnlyList<StepRecord> window, IReadOnlyList<UnitStats> units)
    {
        if (window.Count == 0) return new List<LayerSummary>();
        var names = window[^1].Layers.Select(l => l.Layer).ToList();
        var result = new List<LayerSummary>(names.Count);
        for (int i = 0; i < names.Count; i++)
        {
            var n = names[i];
            var grads = window.Select(r => r.Layers.First(l => l.Layer == n).Gradient).ToList();
            var u = window.Select(r => r.Layers.First(l => l.Layer == n).UpdateRatio).Where(v => v is not null).Select(v => v!.Value).ToList();
            var unit = units.FirstOrDefault(x => x.Layer == n);
            result.Add(new LayerSummary(n, i, Median(grads.Select(g => g.Rms)), Median(grads.Select(g => g.Norm)), double.NaN, u.Count == 0 ? null : Median(u))
            {
                FlowingRms = Median(grads.Select(g => g.NonZeroRms)),
                DeadUnitFraction = unit?.DeadFraction,
                PassesNoGradient = grads.All(g => g.Count > 0 && g.SumOfSquares == 0),
            });
        }
        double last = result[^1].FlowingRms;
        for (int i = 0; i < result.Count; i++)
            result[i] = result[i] with { RatioToLast = last > 0 && result[i].FlowingRms > 0 ? result[i].FlowingRms / last : double.NaN };
        return result;
    }
}
