namespace GradientHooks.Reporting;

/// <summary>Checks an output folder when a sink is attached, so a bad path fails then and not mid-training.</summary>
internal static class LogDirectory
{
    /// <summary>Creates the folder if needed and proves it writable with a probe file; throws an <see cref="ArgumentException"/> naming it otherwise.</summary>
    public static string Prepare(string path, string parameterName, string sink)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new ArgumentException($"{sink}: the log folder path is empty.", parameterName);
        var full = Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(full);
            var probe = Path.Combine(full, $".gradienthooks-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ArgumentException($"{sink}: cannot write to the log folder '{full}': {e.Message} Choose a folder you can create and write to.", parameterName, e);
        }
        return full;
    }

    /// <summary>Creates (truncates) a file in a writable folder, with the same clear error otherwise.</summary>
    public static StreamWriter CreateFile(string path, string parameterName, string sink)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(folder)) Prepare(folder, parameterName, sink);
        try
        {
            return new StreamWriter(new FileStream(full, FileMode.Create, FileAccess.Write, FileShare.Read), new System.Text.UTF8Encoding(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ArgumentException($"{sink}: cannot create '{full}': {e.Message}", parameterName, e);
        }
    }
}
