using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.MLNet.Tests;

/// <summary>Small generated data sets with known structure, as ML.NET data views.</summary>
internal static class Synthetic
{
    public sealed class RegressionRow
    {
        [VectorType(4)] public float[] Features = Array.Empty<float>();
        public float Label;
    }

    public sealed class BinaryRow
    {
        [VectorType(4)] public float[] Features = Array.Empty<float>();
        public bool Label;
    }

    public sealed class ClassRow
    {
        [VectorType(4)] public float[] Features = Array.Empty<float>();
        public string Class = "";
    }

    /// <summary>y = sin(2x₀) + x₁² − x₂·x₃ + 10 with x uniform in [−1.5, 1.5]⁴: non-linear, so a linear model cannot fit it.</summary>
    public static IDataView Regression(MLContext ml, int rows, int seed = 1) =>
        ml.Data.LoadFromEnumerable(Points(rows, seed).Select(x => new RegressionRow
        {
            Features = x,
            Label = (float)(Math.Sin(2 * x[0]) + x[1] * x[1] - x[2] * x[3] + 10),
        }).ToArray());

    /// <summary>Label = inside the ball of radius 1.5 (about half the points): not linearly separable.</summary>
    public static IDataView Binary(MLContext ml, int rows, int seed = 2) =>
        ml.Data.LoadFromEnumerable(Points(rows, seed).Select(x => new BinaryRow
        {
            Features = x,
            Label = x.Sum(v => v * v) < 2.25f,
        }).ToArray());

    /// <summary>Class = quadrant of (x₀, x₁) as a name ("NE", "NW", "SW", "SE").</summary>
    public static IDataView Quadrants(MLContext ml, int rows, int seed = 3) =>
        ml.Data.LoadFromEnumerable(Points(rows, seed).Select(x => new ClassRow
        {
            Features = x,
            Class = (x[0] >= 0, x[1] >= 0) switch { (true, true) => "NE", (false, true) => "NW", (false, false) => "SW", _ => "SE" },
        }).ToArray());

    private static IEnumerable<float[]> Points(int rows, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < rows; i++)
            yield return Enumerable.Range(0, 4).Select(_ => (float)(random.NextDouble() * 3 - 1.5)).ToArray();
    }
}
