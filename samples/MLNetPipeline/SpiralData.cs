using GradientHooks.Samples;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetPipeline;

/// <summary>
/// Three interleaved spiral arms in the plane plus two noise features: a data set no linear model can separate
/// (each class wraps around the others), generated so the sample runs without any file.
/// </summary>
public static class SpiralData
{
    /// <summary>One generated row: five measurements and the arm's name.</summary>
    public sealed class Row
    {
        /// <summary>x and y of the point on its arm (with noise).</summary>
        public float X, Y;

        /// <summary>Features unrelated to the class.</summary>
        public float Noise1, Noise2;

        /// <summary>Radius √(x² + y²), a feature an engineer might add.</summary>
        public float Radius;

        /// <summary>Arm name: "red", "green" or "blue".</summary>
        public string Arm = "";
    }

    /// <summary>Numeric columns of <see cref="Row"/>, in order.</summary>
    public static readonly string[] FeatureColumns = { nameof(Row.X), nameof(Row.Y), nameof(Row.Noise1), nameof(Row.Noise2), nameof(Row.Radius) };

    /// <summary>Arm k: angle t ∈ [0, 3π], radius t/3π, rotated by 2πk/3, Gaussian noise σ = 0.02.</summary>
    public static IDataView Generate(MLContext ml, int rows, int seed)
    {
        var random = new Random(seed);
        string[] arms = { "red", "green", "blue" };
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var data = new Row[rows];
        for (var i = 0; i < rows; i++)
        {
            var arm = i % 3;
            var t = random.NextDouble() * 3 * Math.PI;
            var r = t / (3 * Math.PI);
            var angle = t + 2 * Math.PI * arm / 3;
            var x = (float)(r * Math.Cos(angle) + 0.02 * Gaussian());
            var y = (float)(r * Math.Sin(angle) + 0.02 * Gaussian());
            data[i] = new Row { X = x, Y = y, Noise1 = (float)Gaussian(), Noise2 = (float)random.NextDouble(), Radius = MathF.Sqrt(x * x + y * y), Arm = arms[arm] };
        }
        return ml.Data.LoadFromEnumerable(data);
    }
}
