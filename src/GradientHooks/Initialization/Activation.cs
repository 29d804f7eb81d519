namespace GradientHooks.Initialization;

/// <summary>The activations the initialisation gains and the layer helpers know.</summary>
public enum Activation
{
    /// <summary>No activation (identity), also the gain of convolution layers: 1.</summary>
    Linear,
    /// <summary>Logistic sigmoid 1/(1 + e^−x); saturating, derivative at most 1/4.</summary>
    Sigmoid,
    /// <summary>Hyperbolic tangent; saturating, derivative at most 1.</summary>
    Tanh,
    /// <summary>max(0, x).</summary>
    ReLU,
    /// <summary>max(0, x) + slope·min(0, x), slope 0.01 unless given.</summary>
    LeakyReLU,
    /// <summary>x for x &gt; 0, α(e^x − 1) otherwise (Clevert et al. 2016).</summary>
    ELU,
    /// <summary>Scaled ELU, self-normalising with LeCun normal init (Klambauer et al. 2017).</summary>
    SELU,
    /// <summary>x·Φ(x) (Hendrycks &amp; Gimpel 2016).</summary>
    GELU,
}
