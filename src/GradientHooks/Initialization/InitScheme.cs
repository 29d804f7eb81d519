namespace GradientHooks.Initialization;

/// <summary>
/// Weight initialisation schemes. With n_in = fan_in, n_out = fan_out and g the activation's gain
/// (<see cref="Init.Gain"/>), the standard deviation of the initial weights is:
/// <list type="table">
/// <item><term><see cref="LeCunNormal"/></term><description>N(0, σ²), σ = g/√n_in with g = 1 (LeCun 1998; the "random normal" 1/√n)</description></item>
/// <item><term><see cref="XavierNormal"/></term><description>N(0, σ²), σ = g·√(2/(n_in + n_out)) (Glorot &amp; Bengio 2010)</description></item>
/// <item><term><see cref="XavierUniform"/></term><description>U(−a, a), a = g·√(6/(n_in + n_out)), so σ = g·√(2/(n_in + n_out))</description></item>
/// <item><term><see cref="HeNormal"/></term><description>N(0, σ²), σ = g/√n_in; g = √2 for ReLU gives √(2/n_in) = 1/√(n_in/2) (He et al. 2015)</description></item>
/// <item><term><see cref="HeUniform"/></term><description>U(−a, a), a = g·√(3/n_in), so σ = g/√n_in</description></item>
/// <item><term><see cref="Orthogonal"/></term><description>g·Q with Q (semi-)orthogonal from the QR decomposition of a Gaussian matrix (Saxe et al. 2014); element σ = g/√max(rows, cols)</description></item>
/// </list>
/// Glorot's formula uses the average of the two fans: some texts write 1/√n with n = n_in + n_out, which is a
/// different (smaller by √2) standard deviation and not Glorot's.
/// </summary>
public enum InitScheme
{
    /// <summary>N(0, 1/n_in): LeCun normal, the seed's "random normal"; right for SELU and for linear layers.</summary>
    LeCunNormal,
    /// <summary>N(0, g²·2/(n_in + n_out)): Glorot/Xavier normal, for tanh and sigmoid layers.</summary>
    XavierNormal,
    /// <summary>U(±g·√(6/(n_in + n_out))): Glorot/Xavier uniform.</summary>
    XavierUniform,
    /// <summary>N(0, g²/n_in): He/Kaiming normal, for ReLU-family layers.</summary>
    HeNormal,
    /// <summary>U(±g·√(3/n_in)): He/Kaiming uniform.</summary>
    HeUniform,
    /// <summary>g·(semi-)orthogonal matrix; for recurrent hidden-to-hidden weights (applied per gate block).</summary>
    Orthogonal,
}
