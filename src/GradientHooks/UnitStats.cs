namespace GradientHooks;

/// <summary>
/// The output units of one Linear or Conv layer on one step, seen through their gradients alone (no hook needed):
/// a unit whose weight row (a Conv's whole output-channel filter) and bias entry received exactly zero gradient
/// passed no gradient on that step. Output unit i of a layer gets dL/dW[i] = Σ_batch δᵢ·xᵀ and dL/db[i] = Σ_batch δᵢ,
/// so both are exactly zero when δᵢ = 0 for every example: the activation after it (a ReLU) was off for the whole
/// batch, or it is saturated beyond float precision (σ, tanh at ±1), or everything after it passes no gradient.
/// This holds for ReLU modules, <c>functional.relu</c>, in-place <c>relu_()</c> and <c>.forward()</c> calls alike.
/// </summary>
/// <param name="Layer">Module path, e.g. <c>fc1</c> or <c>features.0</c>.</param>
/// <param name="Module">Module type, e.g. <c>Linear</c> or <c>Conv2d</c>.</param>
/// <param name="Units">Output units (out_features or out_channels).</param>
/// <param name="ZeroUnits">Units that passed no gradient on this step.</param>
/// <param name="DeadUnits">
/// Units that passed no gradient on each of the last <see cref="MonitorOptions.DeadUnitSteps"/> fully captured
/// steps with finite gradients (or on every one so far, when fewer have been captured): dead units.
/// </param>
/// <param name="StreakSteps">How many consecutive full captures <see cref="DeadUnits"/> is counted over (≤ <see cref="MonitorOptions.DeadUnitSteps"/>).</param>
public sealed record UnitStats(string Layer, string Module, int Units, int ZeroUnits, int DeadUnits, int StreakSteps)
{
    /// <summary><see cref="DeadUnits"/> / <see cref="Units"/>.</summary>
    public double DeadFraction => Units == 0 ? 0 : DeadUnits / (double)Units;

    /// <summary><see cref="ZeroUnits"/> / <see cref="Units"/>.</summary>
    public double ZeroFraction => Units == 0 ? 0 : ZeroUnits / (double)Units;
}
