namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Says what the monitor could not read of the model, instead of guessing: layers ordered only by declaration
/// (<see cref="LayerOrderSource.Declaration"/>) in a model that is not a Sequential, so "first" and "last" layer may
/// be wrong; and trainable layers that received no gradient on any step of the window (never called in
/// <c>forward()</c>, or their output never reaches the loss), which are left out of every ratio; and output taps that
/// backward reached in an order other than the layer order's (the taps, measured, win). Information.
/// </summary>
internal sealed class ModelReadingRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var p = c.Profile;
        if (p is { IsSequential: false, LayerOrder.Source: LayerOrderSource.Declaration } && p.LayerOrder.Layers.Count >= 2)
            yield return new Finding(FindingKind.LayerOrderUnknown, Severity.Info,
                $"The layers of this {p.ModelType} are in declaration order: neither forward hooks nor the IL of its forward() showed the order it runs them in.",
                Array.Empty<string>(),
                new[]
                {
                    $"order used: {string.Join(", ", p.LayerOrder.Layers.Take(8))}{(p.LayerOrder.Layers.Count > 8 ? ", …" : "")}",
                    "\"first\" and \"last\" layer, and the vanishing/exploding ratios between them, assume this order",
                    "hooks fire for modules run through .call(x); the IL is read for fields called in forward() and the helpers it calls, not through delegates, lambdas or other objects",
                },
                new[] { new Remedy("Let the monitor see the order", "Run the layers through module.call(x) in forward() (or declare them in the order they run)") { Kind = RemedyKind.CallModules } });

        // Backward reaches the taps in the reverse of data flow: where they name layers, it checks the layer order.
        var order = p?.LayerOrder;
        if (order is not null && c.Depth.OutputGradients)
        {
            var tapped = c.Depth.Points.Select(x => x.Name).Where(n => order.IndexOf(n) != int.MaxValue).ToList();
            var byLayerOrder = tapped.OrderBy(order.IndexOf).ToList();
            if (tapped.Count >= 2 && !tapped.SequenceEqual(byLayerOrder))
                yield return new Finding(FindingKind.LayerOrderUnknown, Severity.Info,
                    "The order in which backward reached the output taps differs from the layer order read from the model; the diagnosis follows the taps.",
                    tapped,
                    new[]
                    {
                        $"by backward order (reversed): {string.Join(", ", tapped)}",
                        $"by the layer order ({order.Source}): {string.Join(", ", byLayerOrder)}",
                    },
                    Array.Empty<Remedy>());
        }

        var missing = c.Window.Count == 0 ? new List<string>()
            : c.Window.Select(r => r.MissingGradients.Select(ParameterInfo.LayerOf).ToHashSet()).Aggregate((a, b) => { a.IntersectWith(b); return a; })
                .OrderBy(l => c.Layers.ToList().FindIndex(x => x.Layer == l) is var i && i >= 0 ? i : int.MaxValue).ToList();
        if (missing.Count > 0)
            yield return new Finding(FindingKind.UnusedLayers, Severity.Info,
                $"{string.Join(", ", missing)} {(missing.Count == 1 ? "has" : "have")} trainable parameters but received no gradient in {c.Window.Count} steps: forward() never uses {(missing.Count == 1 ? "it" : "them")}, or {(missing.Count == 1 ? "its" : "their")} output never reaches the loss.",
                missing,
                new[] { $"p.grad stayed null on every step of the window for {string.Join(", ", missing)}; {(missing.Count == 1 ? "it is" : "they are")} left out of every ratio and of the layer order's first and last" },
                Array.Empty<Remedy>());
    }
}
