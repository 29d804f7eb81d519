using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>The real data sets in ../shared/data (next to the repository), read with ML.NET's own loaders.</summary>
internal static class SharedData
{
    public static string? Directory { get; } = Find();

    public static string PathOf(string file) => System.IO.Path.Combine(Directory ?? throw new InvalidOperationException("../shared/data not found"), file);

    public static bool Has(string file) => Directory != null && File.Exists(System.IO.Path.Combine(Directory, file));

    private static string? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (!File.Exists(System.IO.Path.Combine(dir.FullName, "GradientHooks.sln"))) continue;
            var data = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared", "data"));
            return System.IO.Directory.Exists(data) ? data : null;
        }
        return null;
    }

    /// <summary>iris.txt: label 0..2 as Single, four measurements (first line is a '#' comment).</summary>
    public static IDataView Iris(MLContext ml) => ml.Data.LoadFromTextFile(PathOf("iris.txt"), new[]
    {
        new TextLoader.Column("Label", DataKind.Single, 0),
        new TextLoader.Column("Measurements", DataKind.Single, 1, 4),
    }, hasHeader: false);

    /// <summary>breast-cancer.txt: label 0/1 in column 0, nine cell measures 1..10 (missing written '?', read as NaN).</summary>
    public static IDataView BreastCancer(MLContext ml) => ml.Data.LoadFromTextFile(PathOf("breast-cancer.txt"), new[]
    {
        new TextLoader.Column("Label", DataKind.Boolean, 0),
        new TextLoader.Column("Cells", DataKind.Single, 1, 9),
    }, hasHeader: false);

    /// <summary>optdigits-{train,test}.csv: 64 pixel counts then the digit.</summary>
    public static IDataView OptDigits(MLContext ml, string file) => ml.Data.LoadFromTextFile(PathOf(file), new[]
    {
        new TextLoader.Column("Pixels", DataKind.Single, 0, 63),
        new TextLoader.Column("Digit", DataKind.Single, 64),
    }, separatorChar: ',', hasHeader: false);
}

/// <summary>A fact that is skipped, with the reason, when a file of ../shared/data is not there.</summary>
public sealed class DataFactAttribute : FactAttribute
{
    public DataFactAttribute(params string[] files)
    {
        var missing = files.Where(f => !SharedData.Has(f)).ToArray();
        if (missing.Length > 0)
            Skip = $"needs ../shared/data/{string.Join(", ", missing)} (not present next to this checkout)";
    }
}
