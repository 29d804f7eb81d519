namespace GradientHooks;

/// <summary>
/// The model's layers (owners of trainable parameters, as in <see cref="ParameterInfo.Layer"/>) in data-flow order:
/// the order in which a forward pass first runs them, input side first. Depth, "first" and "last" layer, the ratio to
/// the last layer, tables, charts and where a remedy inserts normalisation all follow it. Layers that share a module
/// or run more than once keep their first position; layers that never run come last, in declaration order.
/// </summary>
public sealed class LayerOrder
{
    private readonly Dictionary<string, int> _rank;

    /// <summary>An order over <paramref name="layers"/> (input side first), decided by <paramref name="source"/>.</summary>
    /// <exception cref="ArgumentException">A layer is listed twice.</exception>
    public LayerOrder(IReadOnlyList<string> layers, LayerOrderSource source)
    {
        ArgumentNullException.ThrowIfNull(layers);
        _rank = new Dictionary<string, int>(layers.Count, StringComparer.Ordinal);
        for (int i = 0; i < layers.Count; i++)
            if (!_rank.TryAdd(layers[i], i))
                throw new ArgumentException($"Layer '{layers[i]}' is listed twice in the layer order.", nameof(layers));
        Layers = layers.ToArray();
        Source = source;
    }

    /// <summary>Layer names, input side first.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>What decided the order.</summary>
    public LayerOrderSource Source { get; }

    /// <summary>Position of <paramref name="layer"/> (0 = input side), or <see cref="int.MaxValue"/> for a layer the order does not know.</summary>
    public int IndexOf(string layer) => _rank.TryGetValue(layer, out var i) ? i : int.MaxValue;

    /// <summary><paramref name="items"/> sorted by the position of their layer, stably (unknown layers last, in their given order).</summary>
    public List<T> Sort<T>(IEnumerable<T> items, Func<T, string> layer) =>
        items.Select((item, i) => (item, i)).OrderBy(x => IndexOf(layer(x.item))).ThenBy(x => x.i).Select(x => x.item).ToList();
}
