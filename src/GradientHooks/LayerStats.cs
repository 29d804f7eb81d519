namespace GradientHooks;

/// <summary>Gradient statistics of one layer: the merge of its parameters' statistics.</summary>
/// <param name="Layer">Module path, e.g. <c>fc1</c>.</param>
/// <param name="Gradient">Merged statistics of the layer's parameters (weight and bias together).</param>
/// <param name="UpdateRatio">‖Δw‖ / ‖w‖ over the layer's parameters for this step's update, when tracked and known.</param>
/// <param name="Depth">Position of the layer among the model's layers in <c>named_parameters</c> order, 0 = first (input side).</param>
public sealed record LayerStats(string Layer, GradientStats Gradient, double? UpdateRatio, int Depth);
