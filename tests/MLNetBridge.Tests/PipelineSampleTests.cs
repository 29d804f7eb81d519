using System.Diagnostics;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>The MLNetPipeline sample, run as a user runs it (a separate process).</summary>
public sealed class PipelineSampleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlnet-sample-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_generated_pipeline_trains_beats_SDCA_saves_loads_and_predicts_the_same()
    {
        var (code, stdout, stderr) = Run($"--out {Path.Combine(_dir, "model.zip")}");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("Gradient diagnosis of the training run", stdout);
        Assert.Contains("loaded back in a fresh", stdout);
        Assert.True(File.Exists(Path.Combine(_dir, "model.zip")));
        var torch = Metric(stdout, "TorchMlp");
        var sdca = Metric(stdout, "SDCA (ML.NET)");
        Assert.True(torch > 0.8 && torch > sdca + 0.2, $"TorchMlp {torch}, SDCA {sdca}");
    }

    [Fact]
    public void A_csv_file_with_a_named_label_runs_as_regression()
    {
        var csv = Path.Combine(_dir, "data.csv");
        var random = new Random(1);
        File.WriteAllLines(csv, new[] { "a,b,target" }.Concat(Enumerable.Range(0, 300).Select(_ =>
        {
            double a = random.NextDouble(), b = random.NextDouble();
            return FormattableString.Invariant($"{a},{b},{3 * a - 2 * b * b}");
        })));
        var (code, stdout, stderr) = Run($"--data {csv} --label target --task regression --epochs 20 --out {Path.Combine(_dir, "r.zip")}");
        Assert.True(code == 0, stderr + stdout);
        Assert.True(Metric(stdout, "TorchMlp") > 0.8, stdout);
    }

    [Theory]
    [InlineData("--task clustering", "--task: 'clustering' is not one of regression, binary, multiclass.")]
    [InlineData("--task regression", "the generated spirals are a multiclass set")]
    [InlineData("--data /nonexistent.csv --label y", "--data '/nonexistent.csv' does not exist.")]
    [InlineData("--data {csv}", "--label: name the label column of")]
    [InlineData("--data {text} --label kind --task regression", "--label: column 'kind' holds 'red' at row 1; regression needs a numeric label")]
    [InlineData("--data {text} --label kind --task binary", "binary classification needs true/false or 1/0")]
    [InlineData("--out {dir}", "is a folder; give a file path for the model")]
    [InlineData("--out /nonexistent/model.zip", "--out '/nonexistent/model.zip': the folder '/nonexistent' does not exist.")]
    [InlineData("--epochs abc", "'abc' for option '--epochs'")]
    [InlineData("--bogus 1", "Unrecognized command or argument '--bogus'")]
    [InlineData("--data {csv} --label nope", "--label: no column 'nope'")]
    [InlineData("--hidden 8,x", "--hidden: 'x' is not a positive width.")]
    [InlineData("--epochs 0", "--epochs must be positive.")]
    [InlineData("compare --data-dir /nonexistent", "--data-dir: none of iris.txt")]
    public void Bad_input_is_one_clear_line_and_exit_code_2(string arguments, string expected)
    {
        var csv = Path.Combine(_dir, "x.csv");
        File.WriteAllText(csv, "a,b\n1,2\n");
        var text = Path.Combine(_dir, "t.csv");
        File.WriteAllText(text, "a,kind\n1,red\n2,blue\n");
        var (code, stdout, stderr) = Run(arguments.Replace("{csv}", csv).Replace("{text}", text).Replace("{dir}", _dir));
        Assert.Equal(2, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, stderr);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", stderr + stdout);
    }

    private static double Metric(string stdout, string trainer)
    {
        var line = stdout.Split('\n').First(l => l.Contains($"│ {trainer} "));
        var cells = line.Split('│', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return double.Parse(cells[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private (int Code, string Stdout, string Stderr) Run(string arguments)
    {
        var start = new ProcessStartInfo("dotnet", $"\"{Path.Combine(AppContext.BaseDirectory, "MLNetPipeline.dll")}\" {arguments}")
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = _dir,
        };
        start.Environment["COLUMNS"] = "200";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(180_000));
        return (process.ExitCode, stdout.Result, stderr);
    }
}
