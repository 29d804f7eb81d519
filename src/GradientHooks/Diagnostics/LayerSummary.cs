namespace GradientHooks.Diagnostics;

/// <summary>A layer's gradients over the diagnosis window (medians over the captured steps).</summary>
/// <param name="Layer">Module path, e.g. <c>fc1</c>.</param>
/// <param name="Depth">0 for the first layer (input side).</param>
/// <param name="GradientRms">Median of the layer's gradient RMS sqrt(Σg²/n), the norm scaled for layer size.</param>
/// <param name="GradientNorm">Median of the layer's gradient L2 norm.</param>
/// <param name="RatioToLast">
/// <see cref="FlowingRms"/> divided by the last layer's: the vanishing/exploding ratio, compared where gradient
/// flows, so that dead units and absent sparse inputs do not count as vanishing. NaN when either layer passes no gradient.
/// </param>
/// <param name="UpdateRatio">Median ‖Δw‖/‖w‖, when update ratios were tracked.</param>
public sealed record LayerSummary(string Layer, int Depth, double GradientRms, double GradientNorm, double RatioToLast, double? UpdateRatio)
{
    /// <summary>Median of the RMS over the gradient's non-zero elements, sqrt(Σg² / (n − zeros)) (see <see cref="GradientStats.NonZeroRms"/>).</summary>
    public double FlowingRms { get; init; }

    /// <summary>Fraction of the layer's output units dead at the end of the window (Linear/Conv layers; see <see cref="UnitStats.DeadUnits"/>); null for other layers.</summary>
    public double? DeadUnitFraction { get; init; }

    /// <summary>True when every gradient element of the layer was exactly zero on every step of the window: it passes no gradient at all.</summary>
    public bool PassesNoGradient { get; init; }
}
