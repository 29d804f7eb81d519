using Xunit;

namespace GradientHooks.Tests.Samples;

/// <summary>The TorchSharpLoop sample, run as a user runs it.</summary>
public sealed class TorchSharpLoopTests : IDisposable
{
    private readonly TestOutputFolder _output = new("loop-sample-");
    private string _dir => _output.Path;

    public void Dispose() => _output.Dispose();

    [Fact]
    public void It_diagnoses_the_sigmoid_net_repairs_it_and_writes_both_charts_and_each_runs_report_and_log()
    {
        var (code, stdout, stderr) = SampleProcess.Run("TorchSharpLoop.dll", $"--steps 60 --out {Path.Combine(_dir, "charts")}");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("Root cause: VanishingGradients", stdout);
        Assert.Contains("Gradient diagnosis over steps", stdout);
        foreach (var chart in new[] { "loss.png", "gradient-flow.png" })
        {
            var file = new FileInfo(Path.Combine(_dir, "charts", chart));
            Assert.True(file.Exists && file.Length > 10_000, $"{chart} missing or empty");
        }
        Assert.Contains("Vanishing gradients", File.ReadAllText(Path.Combine(_dir, "charts", "sigmoid.html")));
        Assert.True(File.Exists(Path.Combine(_dir, "charts", "repaired.html")));
        // The run log gives the tool the verdict the sample printed.
        var output = new StringWriter();
        Assert.Equal(1, GradientHooks.Tool.GradientHooksCommand.Invoke(["diagnose", Path.Combine(_dir, "charts", "sigmoid.jsonl")], output, new StringWriter()));
        Assert.Contains("Root cause: VanishingGradients", output.ToString());
    }

    [Theory]
    [InlineData("--steps abc", "'abc' for option '--steps'")]
    [InlineData("--steps 5", "--steps must be at least 20, got 5.")]
    [InlineData("--bogus", "Unrecognized command or argument '--bogus'")]
    [InlineData("--out {file}", "is a file; give a folder")]
    public void Bad_input_is_one_clear_line_and_exit_code_2(string arguments, string expected)
    {
        var file = Path.Combine(_dir, "a.txt");
        File.WriteAllText(file, "x");
        SampleProcess.AssertOneLineError(SampleProcess.Run("TorchSharpLoop.dll", arguments.Replace("{file}", file)), expected);
    }
}
