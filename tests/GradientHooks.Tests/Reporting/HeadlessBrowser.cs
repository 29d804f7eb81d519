using System.Diagnostics;
using Xunit;

namespace GradientHooks.Tests.Reporting;

/// <summary>
/// A real browser for the report tests: Debian's chromium in headless mode (installed by .ci/run when missing), with the
/// flags this machine's closed network needs. <see cref="Path"/> is null where none can be had; the tests then skip,
/// saying why.
/// </summary>
internal static class HeadlessBrowser
{
    public static string? Path { get; } = new[] { Environment.GetEnvironmentVariable("GRADIENTHOOKS_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }
        .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));

    /// <summary>Runs the browser on <paramref name="file"/> with <paramref name="arguments"/>; returns stdout and stderr.</summary>
    public static (string Stdout, string Stderr) Run(string file, string arguments)
    {
        Assert.True(Path is not null, "no headless chromium: install Debian's chromium (apt-get install chromium) or set GRADIENTHOOKS_CHROMIUM");
        var profile = Directory.CreateTempSubdirectory("chromium-profile-").FullName;
        try
        {
            var start = new ProcessStartInfo(Path!, $"--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir={profile} --enable-logging=stderr --v=0 {arguments} file://{file}")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(60_000), "chromium did not finish within a minute");
            return (stdout.Result, stderr);
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>What the page itself logged as an error (console messages, failed loads); chromium's own noise (dbus, GPU) is not the page's.</summary>
    public static List<string> PageErrors(string stderr) => stderr.Split('\n')
        .Where(l => l.Contains("CONSOLE", StringComparison.Ordinal) || l.Contains("Failed to load resource", StringComparison.Ordinal) || l.Contains("Uncaught", StringComparison.Ordinal))
        .ToList();
}

/// <summary>A fact skipped, with the reason, where no headless browser can be had.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        // CI (GRADIENTHOOKS_REQUIRE_BROWSER) runs the test regardless, so a missing browser fails it there instead of passing unseen.
        if (HeadlessBrowser.Path is null && Environment.GetEnvironmentVariable("GRADIENTHOOKS_REQUIRE_BROWSER") is null)
            Skip = "needs a headless chromium (.ci/run installs Debian's chromium with apt; set GRADIENTHOOKS_CHROMIUM to another one)";
    }
}
