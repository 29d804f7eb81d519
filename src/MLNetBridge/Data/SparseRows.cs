namespace GradientHooks.MLNet.Data;

/// <summary>
/// Training features in compressed sparse rows (CSR): row r's non-zero slots are <c>Indices[Starts[r] ..
/// Starts[r + 1]]</c> with their <c>Values</c>, slots ascending. Memory: 8 bytes per stored value plus 4 per row, against
/// 4 · <see cref="Slots"/> per row dense: FeaturizeText's 18,068 slots with about 300 non-zeros a row take 2.4 KB a row
/// instead of 72 KB.
/// </summary>
internal sealed class SparseRows
{
    public SparseRows(int[] starts, int[] indices, float[] values, int slots)
    {
        Starts = starts;
        Indices = indices;
        Values = values;
        Slots = slots;
    }

    /// <summary>Row r's values are at [Starts[r], Starts[r + 1]); length rows + 1.</summary>
    public int[] Starts { get; }
    public int[] Indices { get; }
    public float[] Values { get; }
    public int Slots { get; }
    public int Rows => Starts.Length - 1;

    /// <summary>Stored values (non-zeros as ML.NET delivered them).</summary>
    public long Stored => Starts[^1];

    /// <summary>The rows at <paramref name="rows"/>, in that order, as a new CSR.</summary>
    public SparseRows Select(ReadOnlySpan<long> rows)
    {
        var starts = new int[rows.Length + 1];
        for (int i = 0; i < rows.Length; i++) starts[i + 1] = checked(starts[i] + Length(rows[i]));
        var indices = new int[starts[^1]];
        var values = new float[starts[^1]];
        for (int i = 0; i < rows.Length; i++)
        {
            int from = Starts[(int)rows[i]], count = Length(rows[i]);
            Array.Copy(Indices, from, indices, starts[i], count);
            Array.Copy(Values, from, values, starts[i], count);
        }
        return new SparseRows(starts, indices, values, Slots);
    }

    /// <summary>
    /// The rows at <paramref name="rows"/> as coordinates into a dense row-major [rows.Length, Slots] block: flat
    /// positions i · Slots + slot and their values.
    /// </summary>
    public (long[] Positions, float[] Values) Coordinates(ReadOnlySpan<long> rows)
    {
        long count = 0;
        foreach (var r in rows) count += Length(r);
        var positions = new long[count];
        var values = new float[count];
        long at = 0;
        for (int i = 0; i < rows.Length; i++)
        {
            int from = Starts[(int)rows[i]], length = Length(rows[i]);
            long offset = (long)i * Slots;
            for (int k = 0; k < length; k++) positions[at + k] = offset + Indices[from + k];
            Array.Copy(Values, from, values, at, length);
            at += length;
        }
        return (positions, values);
    }

    private int Length(long row) => Starts[(int)row + 1] - Starts[(int)row];
}
