using System.Diagnostics;
using Xunit;

namespace GradientHooks.Tests.Samples;

/// <summary>A sample run as a user runs it: a separate process, its exit code, what it printed on each stream.</summary>
internal static class SampleProcess
{
    public static (int Code, string Stdout, string Stderr) Run(string dll, string arguments, string? workingDirectory = null, int timeoutMs = 120_000)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{Path.Combine(AppContext.BaseDirectory, dll)}\" {arguments}")
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(timeoutMs), $"{dll} {arguments} did not finish");
        return (process.ExitCode, stdout.Result, stderr);
    }

    /// <summary>The promise of every sample's command line: one line on stderr containing <paramref name="expected"/>, exit code 2, no stack trace.</summary>
    public static void AssertOneLineError((int Code, string Stdout, string Stderr) result, string expected)
    {
        Assert.Equal(2, result.Code);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got:\n{result.Stderr}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", result.Stderr + result.Stdout);
        Assert.DoesNotContain("Usage:", result.Stderr + result.Stdout);
    }
}
