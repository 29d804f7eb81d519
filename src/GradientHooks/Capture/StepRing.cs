namespace GradientHooks.Capture;

/// <summary>A fixed-capacity ring of step records, oldest first; adding past capacity drops the oldest.</summary>
internal sealed class StepRing : IReadOnlyList<StepRecord>
{
    private readonly StepRecord[] _items;
    private int _start;

    public StepRing(int capacity) => _items = new StepRecord[capacity];

    public int Count { get; private set; }

    public StepRecord this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"History holds {Count} steps.");
            return _items[(_start + index) % _items.Length];
        }
    }

    public void Add(StepRecord record)
    {
        if (Count < _items.Length) { _items[(_start + Count) % _items.Length] = record; Count++; }
        else { _items[_start] = record; _start = (_start + 1) % _items.Length; }
    }

    /// <summary>Empties the ring (a run resumed from a checkpoint refills it).</summary>
    public void Clear()
    {
        Array.Clear(_items);
        _start = 0;
        Count = 0;
    }

    public IEnumerator<StepRecord> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return this[i];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
