namespace GradientHooks;

/// <summary>Gradient statistics of one layer: the merge of its parameters' statistics.</summary>
/// <param name="Layer">Module path, e.g. <c>fc1</c>.</param>
/// <param name="Gradient">Merged statistics of the layer's parameters (weight and bias together).</param>
/// <param name="UpdateRatio">‖Δw‖ / ‖w‖ over the layer's parameters for this step's update, when tracked and known.</param>
/// <param name="Depth">
/// Position of the layer in data-flow order (<see cref="StepRecord.LayerOrder"/>: the order in which a forward pass first
/// runs the layers), 0 = first (input side); parameter order when the record has no layer order.
/// </param>
public sealed record LayerStats(string Layer, GradientStats Gradient, double? UpdateRatio, int Depth);
