using GradientHooks.Initialization;

namespace GradientHooks.MLNet.Network;

/// <summary>
/// The activations of <see cref="Activation"/> as scalar functions, with PyTorch's definitions and defaults:
/// LeakyReLU slope 0.01; ELU α = 1; SELU λ = 1.0507009873554805, α = 1.6732632423543772; GELU the exact
/// x·Φ(x) = x/2·(1 + erf(x/√2)).
/// </summary>
internal static class ScoringActivations
{
    private const double SeluScale = 1.0507009873554804934193349852946;
    private const double SeluAlpha = 1.6732632423543772848170429916717;

    public static float Apply(Activation activation, float z) => activation switch
    {
        Activation.Linear => z,
        Activation.ReLU => z < 0 ? 0f : z, // NaN passes through, as in torch.relu
        Activation.LeakyReLU => z < 0 ? 0.01f * z : z,
        Activation.ELU => z < 0 ? (float)ExpM1OrFallback(z) : z,
        Activation.SELU => (float)(SeluScale * (z < 0 ? SeluAlpha * ExpM1OrFallback(z) : z)),
        Activation.GELU => (float)(0.5 * z * (1 + Erf(z / Math.Sqrt(2)))),
        Activation.Sigmoid => Sigmoid(z),
        Activation.Tanh => MathF.Tanh(z),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "no scoring function for this activation"),
    };

    /// <summary>σ(z) = 1 / (1 + e^−z), written so that neither branch overflows.</summary>
    public static float Sigmoid(float z) => z >= 0 ? 1f / (1f + MathF.Exp(-z)) : MathF.Exp(z) / (1f + MathF.Exp(z));

    /// <summary>
    /// erf(x) from the Chebyshev-fitted complementary error function of Numerical Recipes (erfcc):
    /// erfc(z) ≈ t·exp(−z² + P(t)), t = 1/(1 + z/2), fractional error below
    /// 1.2e-7 everywhere, which is below float resolution for the activations.
    /// </summary>
    public static double Erf(double x)
    {
        var z = Math.Abs(x);
        var t = 1.0 / (1.0 + 0.5 * z);
        var ans = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
            + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - ans : ans - 1;
    }

    private static double ExpM1OrFallback(double z) => Math.Abs(z) < 1e-5 ? z + z * z / 2 : Math.Exp(z) - 1;
}
