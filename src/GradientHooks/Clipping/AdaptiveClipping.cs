using TorchSharp.Modules;

namespace GradientHooks.Clipping;

/// <summary>
/// AutoClip (Seetharaman, Wichern, Pardo, Le Roux 2020, "AutoClip: Adaptive Gradient Clipping for Source
/// Separation Networks"): the total gradient norm of each step is appended to a history, and the gradients are
/// clipped by global norm to the <c>percentile</c>-th percentile of that history (linear interpolation between
/// order statistics, as <c>numpy.percentile</c>). Here the history is the last <c>window</c> finite norms.
/// </summary>
public sealed class AdaptiveClipping : IClippingPolicy
{
    private readonly double[] _history;
    private readonly double[] _sorted;
    private int _count, _next;

    internal AdaptiveClipping(double percentile, int window)
    {
        Percentile = percentile;
        Window = window;
        _history = new double[window];
        _sorted = new double[window];
    }

    /// <summary>Percentile in (0, 100] of the norm history used as the clipping threshold. Default 10 (the paper's choice).</summary>
    public double Percentile { get; }

    /// <summary>Number of most recent norms kept. Default 1000.</summary>
    public int Window { get; }

    /// <summary>The threshold used on the last step, NaN before the first.</summary>
    public double LastThreshold { get; private set; } = double.NaN;

    /// <inheritdoc />
    public ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null)
    {
        GradientMath.ThrowIfEmpty(parameters, nameof(AdaptiveClipping));
        double total = GradientMath.Total(GradientMath.Norms(parameters, step));
        if (!double.IsFinite(total))
            return new ClipResult(total, total, false, false, $"total norm is {total}; not added to the AutoClip history");
        _history[_next] = total;
        _next = (_next + 1) % Window;
        _count = Math.Min(_count + 1, Window);
        LastThreshold = PercentileOf(_history.AsSpan(0, _count), Percentile, _sorted);
        if (total <= LastThreshold) return ClipResult.Unchanged(total) with { Threshold = LastThreshold };
        double coefficient = LastThreshold / (total + 1e-6);
        GradientMath.Scale(parameters, coefficient);
        return new ClipResult(total, total * coefficient, true, false, $"total norm {total:G4} > {Percentile:G3}th percentile {LastThreshold:G4} of {_count} norms") { Threshold = LastThreshold };
    }

    /// <summary>numpy's default ("linear") percentile of <paramref name="values"/>: rank h = (n − 1)·q/100, interpolated.</summary>
    internal static double PercentileOf(ReadOnlySpan<double> values, double percentile, double[] scratch)
    {
        var sorted = scratch.AsSpan(0, values.Length);
        values.CopyTo(sorted);
        sorted.Sort();
        double h = (values.Length - 1) * percentile / 100.0;
        int lo = (int)Math.Floor(h);
        int hi = Math.Min(lo + 1, values.Length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    /// <inheritdoc />
    public override string ToString() => $"Clip.Adaptive({Percentile:G3}, {Window})";

    /// <inheritdoc />
    public bool IsStateful => true;

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer)
    {
        writer.Write(_history.Length);
        writer.Write(_count);
        writer.Write(_next);
        writer.Write(LastThreshold);
        foreach (var x in _history) writer.Write(x);
    }

    /// <inheritdoc />
    public void ReadState(BinaryReader reader)
    {
        int window = reader.ReadInt32();
        if (window != _history.Length) throw new InvalidDataException($"{this}: the saved norm history holds {window} norms, this policy {_history.Length}.");
        _count = reader.ReadInt32();
        _next = reader.ReadInt32();
        LastThreshold = reader.ReadDouble();
        for (int i = 0; i < _history.Length; i++) _history[i] = reader.ReadDouble();
    }
}
