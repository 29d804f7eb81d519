using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.Benchmarks.MLNet;

/// <summary>Data for the ML.NET benchmarks: a generated wide table, and optdigits from ../shared/data when present.</summary>
internal static class BenchmarkData
{
    public sealed class WideRow
    {
        [VectorType(64)] public float[] Raw = Array.Empty<float>();
        public float Label;
    }

    /// <summary>
    /// <paramref name="rows"/> rows of 64 uniform floats behind <c>Concatenate</c> + <c>NormalizeMinMax</c> (fitted once),
    /// as a pipeline hands them to a trainer.
    /// </summary>
    public static IDataView Wide(MLContext ml, int rows)
    {
        var random = new Random(1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new WideRow
        {
            Raw = Enumerable.Range(0, 64).Select(_ => (float)random.NextDouble() * 16).ToArray(), Label = i % 10,
        }).ToArray());
        var pipeline = ml.Transforms.Concatenate("Features", "Raw").Append(ml.Transforms.NormalizeMinMax("Features"));
        return pipeline.Fit(data).Transform(data);
    }

    /// <summary>optdigits-train.csv normalised, with the digit as a key label, or null if the file is absent.</summary>
    public static IDataView? OptDigits(MLContext ml)
    {
        var path = SharedDataPath("optdigits-train.csv");
        if (path == null) return null;
        var data = ml.Data.LoadFromTextFile(path, new[]
        {
            new TextLoader.Column("Pixels", DataKind.Single, 0, 63), new TextLoader.Column("Digit", DataKind.Single, 64),
        }, separatorChar: ',');
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Digit").Append(ml.Transforms.NormalizeMinMax("Features", "Pixels"));
        return ml.Data.Cache(pipeline.Fit(data).Transform(data));
    }

    /// <summary>The path of <paramref name="file"/> in ../shared/data beside the checkout (found from the solution file up), or null.</summary>
    public static string? SharedDataPath(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "GradientHooks.sln")))
            {
                var path = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", file));
                return File.Exists(path) ? path : null;
            }
        return null;
    }
}
