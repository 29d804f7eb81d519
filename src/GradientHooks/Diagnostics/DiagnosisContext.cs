namespace GradientHooks.Diagnostics;

/// <summary>What the rules look at: the window of full steps, the per-layer summaries, the losses and the model's profile.</summary>
/// <summary>A point of the depth profile: a layer (or tap) and its median gradient RMS over non-zero elements.</summary>
internal sealed record DepthPoint(string Name, double Rms);

/// <summary>Gradient size against depth, first (input side) to last, on output gradients ∂L/∂h or on weight gradients.</summary>
internal sealed record DepthProfile(IReadOnlyList<DepthPoint> Points, bool OutputGradients)
{
    /// <summary>What was measured, for the evidence.</summary>
    public string Quantity => OutputGradients ? "output gradient ∂L/∂h" : "weight gradient";

    /// <summary>The ratio of <paramref name="first"/>'s to <paramref name="last"/>'s RMS on one step, on the same quantity; null when either is missing or zero.</summary>
    public double? StepRatio(StepRecord r, string first, string last)
    {
        if (!OutputGradients) return Rules.ExplodingRule.DepthRatio(r, first, last);
        double a = double.NaN, b = double.NaN;
        foreach (var o in r.OutputGradients)
        {
            if (o.Name == first) a = o.Gradient.NonZeroRms;
            if (o.Name == last) b = o.Gradient.NonZeroRms;
        }
        return a > 0 && b > 0 ? a / b : null;
    }
}

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

    /// <summary>
    /// A step whose only non-finite values are scaled gradients that overflowed (<see cref="StepRecord.LossScaleOverflow"/>):
    /// the loss scaler at work (the step skipped, the scale backed off), not NaN in the training. Not so when the
    /// weights, the input or the loss were non-finite themselves.
    /// </summary>
    public static bool ScalerOverflowOnly(StepRecord r) =>
        r.LossScaleOverflow
        && r.Origin is not { NonFiniteWeights.Count: > 0 }
        && r.Origin?.InputNonFinite != true
        && (r.Loss is not double l || double.IsFinite(l));

    /// <summary>NaN/Inf in the training on this step: non-finite gradients (other than a loss-scale overflow) or loss.</summary>
    public static bool NonFiniteTraining(StepRecord r) =>
        (r.HasNonFinite && !ScalerOverflowOnly(r)) || r.Loss is double l && !double.IsFinite(l);

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

    /// <summary>
    /// What vanishing and exploding are judged on, first to last in data-flow order: the output gradients ∂L/∂h where
    /// taps recorded them for two or more modules (the chain of products backpropagation multiplies), else the weight
    /// gradients of the layers through which some gradient flows. Medians of the RMS over non-zero elements.
    /// </summary>
    public DepthProfile Depth => _depth ??= BuildDepth();
    private DepthProfile? _depth;

    private DepthProfile BuildDepth()
    {
        var taps = Window.SelectMany(r => r.OutputGradients).GroupBy(o => o.Name)
            .Select(g => (Name: g.Key, Rms: Median(g.Select(o => o.Gradient.NonZeroRms)), Order: Median(g.Select(o => (double)o.BackwardOrder))))
            .Where(x => x.Rms > 0).ToList();
        if (taps.Count >= 2)
        {
            // Data flow is the reverse of the order backward reached the taps: measured, so it needs no layer order.
            var sorted = taps.OrderByDescending(x => x.Order).ToList();
            return new DepthProfile(sorted.Select(x => new DepthPoint(x.Name, x.Rms)).ToList(), OutputGradients: true);
        }
        return new DepthProfile(FlowingLayers.Select(l => new DepthPoint(l.Layer, l.FlowingRms)).ToList(), OutputGradients: false);
    }

    /// <summary>Layers through which some gradient flows, first to last.</summary>
    public IReadOnlyList<LayerSummary> FlowingLayers => Layers.Where(l => !l.PassesNoGradient && l.FlowingRms > 0).ToList();

    /// <summary>Every full step with finite gradients in the history, oldest first (the window is its tail).</summary>
    public IReadOnlyList<StepRecord> FullSteps => _fullSteps ??= History.Where(r => r.IsFull && !r.HasNonFinite).ToList();
    private List<StepRecord>? _fullSteps;

    /// <summary>
    /// When a condition began: the first full step at which <paramref name="holds"/> is true and stays true on at least
    /// three of the five full steps from there (so one odd batch does not date it); null when it never does.
    /// <paramref name="holds"/> returns null for a step it cannot judge (skipped in the count).
    /// </summary>
    public long? Onset(Func<StepRecord, bool?> holds)
    {
        var steps = FullSteps;
        var verdicts = steps.Select(holds).ToList();
        for (int i = 0; i < steps.Count; i++)
        {
            if (verdicts[i] != true) continue;
            int yes = 0, judged = 0;
            for (int j = i; j < steps.Count && judged < 5; j++)
                if (verdicts[j] is bool v) { judged++; if (v) yes++; }
            if (yes >= Math.Min(3, judged)) return steps[i].Step;
        }
        return null;
    }

    /// <summary>
    /// True when the loss has not fallen since training began: the window's median loss is within
    /// <see cref="DiagnosticThresholds.PlateauRelativeChange"/> × 2 of the median of the first five losses (for a
    /// classifier, still at the chance level it started at, ln C for C classes). <paramref name="evidence"/> says so.
    /// </summary>
    public bool LearnedNothing(out string evidence)
    {
        evidence = "";
        if (AllLosses.Count < 10 || WindowLosses.Count < 5) return false;
        double start = Median(AllLosses.Take(5).Select(l => l.Loss)), now = Median(WindowLosses);
        if (!(start > 0) || (start - now) / start > 2 * Thresholds.PlateauRelativeChange) return false;
        double classes = Math.Round(Math.Exp(now));
        evidence = $"the loss has not fallen since the start: median {DiagnosisContext.Number(now)} over the window against {DiagnosisContext.Number(start)} over the first 5 steps" +
            (classes is >= 2 and <= 20 && Math.Abs(now - Math.Log(classes)) < 0.003 ? $" (ln {classes:0} = {DiagnosisContext.Number(Math.Log(classes))}: a cross-entropy at the level of guessing among {classes:0} classes)" : "");
        return true;
    }

    /// <summary>
    /// True when the whole gradient has collapsed: the window's median total norm is below 1 % of the median over the
    /// first five full steps while the loss has not fallen by half (a converged model's gradient falls with its loss).
    /// </summary>
    public bool GradientCollapse(out string evidence)
    {
        evidence = "";
        var full = FullSteps;
        if (full.Count < 10 || Window.Count < 5) return false;
        double start = Median(full.Take(5).Select(r => r.TotalNorm)), now = Median(Window.Select(r => r.TotalNorm));
        double? progress = FirstLoss is double f && f > 0 && WindowLosses.Count > 0 ? (f - Median(WindowLosses)) / f : null;
        if (!(start > 0) || now >= 0.01 * start || progress is not double p || p >= Thresholds.PlateauProgress) return false;
        evidence = $"the total gradient norm fell ×{start / now:0.0e+0}, from {start:0.00e+0} over the first 5 steps to {now:0.00e+0} over the window, while the loss fell only {p:P0}";
        return true;
    }

    /// <summary>Median of each activation module's statistic over the window, in module order.</summary>
    public IEnumerable<(ActivationStats Example, double Median)> ActivationMedians(Func<ActivationStats, double?> select)
    {
        return Window.SelectMany(r => r.Activations)
            .Where(a => select(a) is not null)
            .GroupBy(a => a.Module)
            .Select(g => (g.First(), Median(g.Select(a => select(a)!.Value))));
    }

    /// <summary>A loss (or other quantity) in evidence: up to four decimals, or three significant digits in scientific form below 1e-3 (a loss of 2.3e-6 is not "0").</summary>
    public static string Number(double? value) => value is not double v ? "-"
        : v == 0 || Math.Abs(v) >= 1e-3 || !double.IsFinite(v) ? v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)
        : v.ToString("0.00e+0", System.Globalization.CultureInfo.InvariantCulture);

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
