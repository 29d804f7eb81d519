namespace GradientHooks.Tests;

/// <summary>
/// A test class's own temporary folder, created at once and deleted on <see cref="Dispose"/>. When the environment
/// variable <c>GRADIENTHOOKS_KEEP_TEST_OUTPUT</c> names a folder, the files are copied there first (to look at the
/// charts, reports and logs a run wrote).
/// </summary>
public sealed class TestOutputFolder : IDisposable
{
    /// <summary>Creates a folder named <paramref name="prefix"/> and a random suffix under the system's temporary folder.</summary>
    public TestOutputFolder(string prefix) => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>Copies the files to the keep folder when asked, then deletes the folder (a file still open elsewhere is left).</summary>
    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("GRADIENTHOOKS_KEEP_TEST_OUTPUT") is { Length: > 0 } keep && Directory.Exists(Path))
        {
            Directory.CreateDirectory(keep);
            foreach (var f in Directory.GetFiles(Path)) File.Copy(f, System.IO.Path.Combine(keep, System.IO.Path.GetFileName(f)), overwrite: true);
        }
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
