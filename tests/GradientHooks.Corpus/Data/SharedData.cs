namespace GradientHooks.Corpus.Data;

/// <summary>The real data sets in ../shared/data, found next to the checkout that holds GradientHooks.sln (or where GRADIENTHOOKS_DATA points).</summary>
public static class SharedData
{
    /// <summary>The folder, or null when it is not next to this checkout.</summary>
    public static string? Directory { get; } = Find();

    /// <summary>Full path of <paramref name="file"/> in the data folder.</summary>
    public static string PathOf(string file) =>
        Path.Combine(Directory ?? throw new InvalidOperationException("../shared/data was not found next to the checkout"), file);

    /// <summary>True when every file is present.</summary>
    public static bool Has(params string[] files) => Directory != null && files.All(f => File.Exists(Path.Combine(Directory, f)));

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("GRADIENTHOOKS_DATA") is { Length: > 0 } configured) return configured;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "GradientHooks.sln"))) continue;
            var data = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
            return System.IO.Directory.Exists(data) ? data : null;
        }
        return null;
    }
}
