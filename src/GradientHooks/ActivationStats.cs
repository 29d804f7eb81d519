namespace GradientHooks;

/// <summary>How an activation module's outputs are summarised.</summary>
public enum ActivationFamily
{
    /// <summary>ReLU, ReLU6, LeakyReLU: a unit is inactive where its output is &lt;= 0.</summary>
    Rectifier,
    /// <summary>Sigmoid and Tanh: an output is saturated where the derivative is below a small fraction of its peak.</summary>
    Saturating,
}

/// <summary>Statistics of one activation module's output on the last training forward pass before a capture.</summary>
/// <param name="Module">Module path, e.g. <c>act1</c>.</param>
/// <param name="Activation">Module type name, e.g. <c>ReLU</c>.</param>
/// <param name="Family">Rectifier or saturating.</param>
/// <param name="InactiveFraction">Rectifiers: fraction of outputs &lt;= 0. Null for saturating modules.</param>
/// <param name="DeadUnitFraction">Rectifiers: fraction of units (features; output flattened to [batch, units]) inactive for every example of the batch. Null for saturating modules.</param>
/// <param name="SaturatedFraction">Sigmoid/Tanh: fraction of outputs in the saturated region (see <see cref="MonitorOptions.SaturationDerivativeFraction"/>). Null for rectifiers.</param>
public sealed record ActivationStats(string Module, string Activation, ActivationFamily Family,
    double? InactiveFraction, double? DeadUnitFraction, double? SaturatedFraction);
