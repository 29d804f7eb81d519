namespace GradientHooks.Diagnostics;

/// <summary>
/// The scale of the model's input batch, per feature, over the first forward passes after the monitor attached (read
/// by a pre-hook on the first module to run, then removed). Features are the columns of a [rows, features] batch,
/// the channels of an image batch [N, C, H, W], the last dimension of a sequence batch [N, T, F].
/// </summary>
/// <param name="Module">The module whose input was measured: <c>(model)</c> when the model itself runs through <c>.call()</c>.</param>
/// <param name="Rows">Rows (examples × positions) measured.</param>
/// <param name="Batches">Batches measured.</param>
/// <param name="Mean">Per-feature mean.</param>
/// <param name="Std">Per-feature standard deviation (population).</param>
public sealed record InputScale(string Module, long Rows, int Batches, IReadOnlyList<double> Mean, IReadOnlyList<double> Std)
{
    /// <summary>Number of features.</summary>
    public int Features => Mean.Count;

    /// <summary>Per-feature scale √(mean² + std²), the root mean square: what a layer's weights multiply.</summary>
    public double Rms(int feature) => Math.Sqrt(Mean[feature] * Mean[feature] + Std[feature] * Std[feature]);
}
