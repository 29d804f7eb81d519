using TorchSharp.Modules;

namespace GradientHooks.Clipping;

/// <summary>
/// Skips the update on a loss or gradient-norm spike, as large-scale pre-training does (OLMo skips a step whose loss
/// or gradient norm lies more than 6 σ from the mean of the previous 128 steps), with robust statistics on the log
/// scale. For each watched signal x (<see cref="Signals"/>: the total L2 gradient norm by default, the loss on request),
/// over the previous <see cref="Window"/> values: m = median of ln x, σ = 1.4826 · MAD(ln x), and the step is skipped
/// when <c>z = (ln x − m) / max(σ, 0.05) &gt; Z</c>, <c>x ≥ MinRatio · e^m</c> and x is larger than every value of
/// the window whose update was applied: more than e^(Z·σ) times its median, at least <see cref="MinRatio"/> times it,
/// and unprecedented. The first two are the diagnosis's own definition of a gradient spike
/// (<c>DiagnosticThresholds.SpikeZ</c>, <c>SpikeFactor</c>); the third keeps the hard examples a model meets again
/// and again (a batch with the one example it cannot fit) from being skipped each time they come back once the rest
/// has converged, while a fault that recurs stays skipped (skipped values never raise that bar). Nothing is skipped
/// until <see cref="WarmupSteps"/> values have been seen.
/// <para>Why not OLMo's mean and standard deviation: losses and gradient norms of small mini-batches are heavy-tailed
/// (measured with both signals: 6 σ above the mean of the last 128 steps skipped 298 of 24,980 updates of the
/// healthy taxi-fare regression, 12 of bike-sharing's, 5 of breast-cancer's). A hard batch is data, not a fault. On
/// the log scale the median and MAD are not moved by one extreme value, and with the ratio floor a slow trend early in
/// training (norms 1.6× a very steady median) is not a spike. Without the third condition the converged detox-text
/// classifier still had 8 of 480 updates skipped: one hard comment, 35–67× the median norm of a model that fits the
/// rest to a loss of 1e−4, every time it came round. With all three, the gradient norm leaves every healthy run of the
/// corpus untouched, while a batch whose gradient is orders of magnitude off is skipped.</para>
/// <para>Only upward spikes skip: an unusually small loss or gradient cannot harm the weights. Every positive finite
/// value enters the window, skipped or not, so a lasting change of level (a learning-rate schedule, a new phase of the
/// data) is learned within half a window instead of being skipped for ever. A non-finite loss or norm skips the step
/// too and stays out of the window (put <see cref="Clip.SkipNonFinite"/> first to zero such gradients). A skipped
/// step leaves the gradients as they are; the guard does not call the optimizer.</para>
/// <para>Cost: nothing on fully captured steps (the norm is the capture's); on the light steps of
/// <c>MonitorOptions.Every</c> &gt; 1 the policy measures the norm itself (one reduction per parameter, one transfer),
/// as every norm-based policy does.</para>
/// </summary>
public sealed class SpikeSkipping : IClippingPolicy
{
    private const double MinSpread = 0.05;
    private readonly RollingLogWindow _norms, _losses;

    internal SpikeSkipping(double z, int window, int warmupSteps, double minRatio, SpikeSignals signals)
    {
        MinRatio = minRatio;
        Signals = signals;
        Z = z;
        Window = window;
        WarmupSteps = warmupSteps;
        _norms = new RollingLogWindow(window);
        _losses = new RollingLogWindow(window);
    }

    /// <summary>How many robust standard deviations of ln x above the median of ln x a value must lie to skip the step; default 6.</summary>
    public double Z { get; }

    /// <summary>How many previous values the median and MAD are taken over; default 128.</summary>
    public int Window { get; }

    /// <summary>A spike must also be at least this many times its median; default 3.</summary>
    public double MinRatio { get; }

    /// <summary>The signals watched; default <see cref="SpikeSignals.GradientNorm"/>.</summary>
    public SpikeSignals Signals { get; }

    /// <summary>Values seen before any step is skipped; default 20.</summary>
    public int WarmupSteps { get; }

    /// <summary>Steps skipped so far by this policy.</summary>
    public long SkippedSteps { get; private set; }

    /// <inheritdoc />
    public ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null)
    {
        GradientMath.ThrowIfEmpty(parameters, nameof(SpikeSkipping));
        double norm = GradientMath.Total(GradientMath.Norms(parameters, step));
        var reason = Check(norm, step?.Loss);
        if (reason is null) return ClipResult.Unchanged(norm);
        return new ClipResult(norm, norm, false, true, reason);
    }

    /// <summary>
    /// The decision alone, on a step's total gradient norm and loss (null when not recorded): the reason to skip, or
    /// null to go on. Feeds both values to the windows, as <see cref="Apply"/> does; use it to replay a recorded run.
    /// </summary>
    public string? Check(double totalNorm, double? loss)
    {
        var reasons = new List<string>();
        if (Signals.HasFlag(SpikeSignals.GradientNorm)) Test("total gradient norm", _norms, totalNorm, reasons);
        if (Signals.HasFlag(SpikeSignals.Loss) && loss is double l) Test("loss", _losses, l, reasons);
        if (reasons.Count == 0) return null;
        SkippedSteps++;
        return "spike: " + string.Join("; ", reasons) + "; update skipped";
    }

    private void Test(string what, RollingLogWindow window, double x, List<string> reasons)
    {
        if (!double.IsFinite(x)) { reasons.Add($"{what} is {x}"); return; }
        bool spike = false;
        if (x > 0 && window.Count >= WarmupSteps)
        {
            var (median, spread) = window.Robust();
            double z = (Math.Log(x) - median) / Math.Max(spread, MinSpread), max = window.MaxAccepted();
            if (z > Z && x >= MinRatio * Math.Exp(median) && Math.Log(x) > max)
            {
                spike = true;
                reasons.Add($"{what} {x:G4} is {x / Math.Exp(median):G3}× its median {Math.Exp(median):G4} over the last {window.Count} steps (z {z:0.0} > {Z:G3}, robust σ of ln x {spread:0.000}) and above their largest applied value {Math.Exp(max):G4}");
            }
        }
        window.Add(x, accepted: !spike);
    }

    /// <inheritdoc />
    public bool IsStateful => true;

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer)
    {
        _norms.Write(writer);
        _losses.Write(writer);
        writer.Write(SkippedSteps);
    }

    /// <inheritdoc />
    public void ReadState(BinaryReader reader)
    {
        _norms.Read(reader, ToString());
        _losses.Read(reader, ToString());
        SkippedSteps = reader.ReadInt64();
    }

    /// <inheritdoc />
    public override string ToString() => $"Clip.SkipSpikes({Z:G3}, {Window}, signals: {Signals})";
}
