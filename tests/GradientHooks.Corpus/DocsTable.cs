namespace GradientHooks.Corpus;

/// <summary>
/// The corpus table as docs/diagnosis.md quotes it, between the markers <c>&lt;!-- corpus-table: ... --&gt;</c> and
/// <c>&lt;!-- corpus-table-end --&gt;</c>: read by the test that checks it, written by <c>--write-docs</c>.
/// </summary>
public static class DocsTable
{
    private const string Begin = "<!-- corpus-table:";
    private const string End = "<!-- corpus-table-end -->";

    /// <summary>docs/diagnosis.md in the checkout that holds GradientHooks.sln.</summary>
    public static string DocsPath
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "GradientHooks.sln"))) return Path.Combine(dir.FullName, "docs", "diagnosis.md");
            throw new FileNotFoundException("GradientHooks.sln was not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The quoted table, trimmed.</summary>
    public static string Read()
    {
        var lines = File.ReadAllLines(DocsPath);
        int begin = Array.FindIndex(lines, l => l.StartsWith(Begin, StringComparison.Ordinal));
        int end = Array.FindIndex(lines, l => l.StartsWith(End, StringComparison.Ordinal));
        if (begin < 0 || end < begin) throw new InvalidDataException($"{DocsPath} has no {Begin} … {End} block");
        return string.Join("\n", lines[(begin + 1)..end]).Trim();
    }

    /// <summary>Puts <paramref name="table"/> between the markers.</summary>
    public static void Write(string table)
    {
        var lines = File.ReadAllLines(DocsPath).ToList();
        int begin = lines.FindIndex(l => l.StartsWith(Begin, StringComparison.Ordinal));
        int end = lines.FindIndex(l => l.StartsWith(End, StringComparison.Ordinal));
        if (begin < 0 || end < begin) throw new InvalidDataException($"{DocsPath} has no {Begin} … {End} block");
        lines.RemoveRange(begin + 1, end - begin - 1);
        lines.Insert(begin + 1, table.Replace("\r\n", "\n").TrimEnd());
        File.WriteAllText(DocsPath, string.Join("\n", lines) + "\n");
    }
}
