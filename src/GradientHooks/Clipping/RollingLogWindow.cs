using GradientHooks.Diagnostics;

namespace GradientHooks.Clipping;

/// <summary>
/// The last <c>capacity</c> positive values, kept as ln x in a ring, with their robust centre and spread: the
/// median m of ln x and σ = 1.4826 · MAD(ln x) (the median absolute deviation, scaled to estimate a normal σ).
/// Fixed memory; O(capacity · log capacity) per query.
/// </summary>
internal sealed class RollingLogWindow
{
    private readonly double[] _logs;
    private readonly bool[] _accepted;
    private int _next;

    public RollingLogWindow(int capacity)
    {
        _logs = new double[capacity];
        _accepted = new bool[capacity];
    }

    /// <summary>Values held (at most the capacity).</summary>
    public int Count { get; private set; }

    /// <summary>Adds x &gt; 0 (others are ignored: they have no logarithm), marked accepted or not.</summary>
    public void Add(double x, bool accepted)
    {
        if (!(x > 0) || double.IsInfinity(x)) return;
        _accepted[_next] = accepted;
        _logs[_next] = Math.Log(x);
        _next = (_next + 1) % _logs.Length;
        if (Count < _logs.Length) Count++;
    }

    /// <summary>The largest ln x among accepted values (−∞ when none).</summary>
    public double MaxAccepted()
    {
        double max = double.NegativeInfinity;
        for (int i = 0; i < Count; i++) if (_accepted[i] && _logs[i] > max) max = _logs[i];
        return max;
    }

    /// <summary>Writes the ring (capacity, position, count, values, accepted flags).</summary>
    public void Write(BinaryWriter writer)
    {
        writer.Write(_logs.Length);
        writer.Write(_next);
        writer.Write(Count);
        foreach (var x in _logs) writer.Write(x);
        foreach (var a in _accepted) writer.Write(a);
    }

    /// <summary>Reads what <see cref="Write"/> wrote into a window of the same capacity.</summary>
    public void Read(BinaryReader reader, string owner)
    {
        int capacity = reader.ReadInt32();
        if (capacity != _logs.Length)
            throw new InvalidDataException($"{owner}: the saved window holds {capacity} values, this one {_logs.Length}.");
        _next = reader.ReadInt32();
        Count = reader.ReadInt32();
        for (int i = 0; i < _logs.Length; i++) _logs[i] = reader.ReadDouble();
        for (int i = 0; i < _accepted.Length; i++) _accepted[i] = reader.ReadBoolean();
    }

    /// <summary>(median of ln x, 1.4826 · MAD of ln x).</summary>
    public (double Median, double Spread) Robust()
    {
        var values = new ArraySegment<double>(_logs, 0, Count);
        double median = DiagnosisContext.Median(values);
        return (median, DiagnosisContext.ScaledMad(values, median));
    }
}
