using System.Diagnostics;
using GradientHooks.Tests.Samples;
using Xunit;

namespace GradientHooks.Tests.Checkpoints;

/// <summary>
/// Resuming as it happens: a training process (GradientHooks.CheckpointRunner: Clip.Chain(SkipNonFinite, SkipSpikes,
/// AdaGC), rollback, the monitor; a spike, two NaN gradients and a NaN weight on the way) is killed with SIGKILL after
/// its checkpoint, and a new process resumes from it. Its weights end bit for bit those of the uninterrupted run (CPU,
/// one thread) and its diagnosis is the same, compared byte for byte.
/// </summary>
public sealed class CheckpointProcessTests : IDisposable
{
    private readonly TestOutputFolder _output = new("checkpoint-process-");
    private string _dir => _output.Path;

    public void Dispose() => _output.Dispose();

    private const string Runner = "GradientHooks.CheckpointRunner.dll";

    /// <summary>Starts the runner, waits for <paramref name="line"/> on its stdout, then kills it with SIGKILL.</summary>
    private void RunUntilThenKill(string mode, string line)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{Path.Combine(AppContext.BaseDirectory, Runner)}\" {mode} \"{_dir}\"")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var clock = Stopwatch.StartNew();
        string? read;
        while ((read = process.StandardOutput.ReadLine()) != line)
            Assert.True(read is not null && clock.Elapsed < TimeSpan.FromMinutes(2), $"{mode} ended without printing '{line}': {process.StandardError.ReadToEnd()}");
        process.Kill(entireProcessTree: true);   // SIGKILL on Linux: no finalizer, no flush, no cleanup
        Assert.True(process.WaitForExit(30_000));
        Assert.NotEqual(0, process.ExitCode);
    }

    private string Run(string mode)
    {
        var (code, stdout, stderr) = SampleProcess.Run(Runner, $"{mode} \"{_dir}\"");
        Assert.True(code == 0, $"{mode}: {stderr}{stdout}");
        return stdout;
    }

    [Fact]
    public void A_run_killed_after_its_checkpoint_and_resumed_in_a_new_process_ends_bit_for_bit_with_the_same_diagnosis()
    {
        var full = Run("full");
        Assert.Contains("300 steps, 6 skipped, 1 rollback(s)", full);   // the run exercises spikes, NaN, rollback
        RunUntilThenKill("first", "checkpoint saved");
        var resumed = Run("resume");
        Assert.Contains("300 steps, 6 skipped, 1 rollback(s)", resumed);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "full.weights")), File.ReadAllBytes(Path.Combine(_dir, "resumed.weights")));
        Assert.Equal(File.ReadAllText(Path.Combine(_dir, "full.json")), File.ReadAllText(Path.Combine(_dir, "resumed.json")));
    }

    [Fact]
    public void A_process_killed_between_writing_and_replacing_leaves_the_previous_checkpoint_loadable()
    {
        RunUntilThenKill("hang-in-save", "replacing");
        Assert.Single(Directory.GetFiles(_dir, ".run.ckpt.*.tmp"));    // the new one, complete, never moved
        Assert.Contains("step 100", Run("step-of"));                   // the one before it
    }
}
