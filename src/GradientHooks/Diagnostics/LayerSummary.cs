namespace GradientHooks.Diagnostics;

/// <summary>A layer's gradients over the diagnosis window (medians over the captured steps).</summary>
/// <param name="Layer">Module path, e.g. <c>fc1</c>.</param>
/// <param name="Depth">0 for the first layer (input side).</param>
/// <param name="GradientRms">Median of the layer's gradient RMS sqrt(Σg²/n), the norm scaled for layer size.</param>
/// <param name="GradientNorm">Median of the layer's gradient L2 norm.</param>
/// <param name="RatioToLast">GradientRms divided by the last layer's.</param>
/// <param name="UpdateRatio">Median ‖Δw‖/‖w‖, when update ratios were tracked.</param>
public sealed record LayerSummary(string Layer, int Depth, double GradientRms, double GradientNorm, double RatioToLast, double? UpdateRatio);
