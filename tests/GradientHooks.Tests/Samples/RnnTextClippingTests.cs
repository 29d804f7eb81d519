using GradientHooks.Clipping;
using RnnTextClipping;
using TorchSharp;
using Xunit;

namespace GradientHooks.Tests.Samples;

public class RnnTextClippingTests
{
    private static readonly TrainingSettings Tiny = new() { Hidden = 32, SequenceLength = 16, BatchSize = 8, Steps = 40, EvaluateEvery = 10, LearningRate = 4.0 };

    [Fact]
    public void The_clipped_run_keeps_every_gradient_norm_within_the_limit_and_its_loss_falls()
    {
        var corpus = CharCorpus.Generate(length: 20_000, seed: 3);
        var measured = new List<double>();
        var result = CharRnnTrainer.Train(corpus, Tiny, "clipped", Clip.GlobalNorm(1.0),
            afterStep: (_, model) => measured.Add(torch.nn.utils.clip_grad_norm_(model.parameters(), 1e30)));
        Assert.Equal(40, measured.Count);
        Assert.All(measured, n => Assert.True(n <= 1.0 * (1 + 1e-5), $"gradient norm after clipping {n}"));
        Assert.True(result.Steps.Any(s => s.Clipping!.Clipped), "the settings should make clipping act");
        var losses = result.Steps.Select(s => s.Loss!.Value).ToList();
        Assert.True(losses.TakeLast(10).Average() < 0.8 * losses.Take(5).Average(), $"loss {losses.Take(5).Average():F3} -> {losses.TakeLast(10).Average():F3}");
        Assert.Equal(4, result.Validation.Count);
        Assert.True(result.FinalValidation < Math.Log(corpus.Vocabulary.Length));
    }

    [Fact]
    public void Both_runs_start_from_the_same_weights()
    {
        var corpus = CharCorpus.Generate(length: 20_000, seed: 3);
        var settings = Tiny with { Steps = 1 };
        var a = CharRnnTrainer.Train(corpus, settings, "a", null);
        var b = CharRnnTrainer.Train(corpus, settings, "b", Clip.GlobalNorm(1e9));
        Assert.Equal(a.Steps[0].Loss, b.Steps[0].Loss);
        Assert.Equal(a.Steps[0].TotalNorm, b.Steps[0].TotalNorm);
    }

    [Fact]
    public void The_docs_quote_what_the_main_sample_prints()
    {
        var dir = Directory.CreateTempSubdirectory("rnn-docs-").FullName;
        var (code, stdout, stderr) = SampleProcess.Run("RnnTextClipping.dll", $"--markdown --out {dir}", timeoutMs: 600_000);
        Assert.True(code == 0, stderr + stdout);
        var printed = string.Join("\n", stdout.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith('|')));
        var quoted = QuotedBlock(Path.Combine(Checkout(), "docs", "samples.md"), "<!-- rnn-table:", "<!-- rnn-table-end -->");
        Assert.True(quoted == printed, $"docs/samples.md quotes a table the main sample no longer prints; paste this between the rnn-table markers:\n{printed}");
        // Each run has its report and run log.
        foreach (var name in new[] { "no-clipping.html", "no-clipping.jsonl" })
            Assert.True(File.Exists(Path.Combine(dir, name)), $"{name} missing from {string.Join(", ", Directory.GetFiles(dir).Select(Path.GetFileName))}");
        Assert.Equal(2, Directory.GetFiles(dir, "*.html").Length);
        Directory.Delete(dir, recursive: true);
    }

    private static string Checkout()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "GradientHooks.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("GradientHooks.sln not found above " + AppContext.BaseDirectory);
    }

    private static string QuotedBlock(string file, string begin, string end)
    {
        var lines = File.ReadAllLines(file);
        int b = Array.FindIndex(lines, l => l.StartsWith(begin, StringComparison.Ordinal)), e = Array.FindIndex(lines, l => l.StartsWith(end, StringComparison.Ordinal));
        Assert.True(b >= 0 && e > b, $"{file} has no {begin} … {end} block");
        return string.Join("\n", lines[(b + 1)..e]).Trim();
    }

    [Theory]
    [InlineData("--text /nonexistent/corpus.txt", "does not exist")]
    [InlineData("--text {empty}", "is empty")]
    [InlineData("--text {short}", "characters; a batch of 32 sequences of 64 needs at least")]
    [InlineData("--text {dir}", "is a folder; give a file")]
    [InlineData("--clip sometimes", "'sometimes' is not one of none, value, norm, adaptive, agc, zscore")]
    [InlineData("--steps 0", "--steps must be a positive integer")]
    [InlineData("--steps abc", "'abc' for option '--steps'")]
    [InlineData("--bogus 1", "Unrecognized command or argument '--bogus'")]
    [InlineData("--out {empty}", "is a file; give a folder")]
    [InlineData("--out /proc/nope", "--out '/proc/nope' cannot be written")]
    public void Bad_input_is_one_clear_line_and_exit_code_2(string arguments, string expected)
    {
        var dir = Directory.CreateTempSubdirectory("rnn-sample-").FullName;
        File.WriteAllText(Path.Combine(dir, "empty.txt"), "");
        File.WriteAllText(Path.Combine(dir, "short.txt"), "to be or not to be");
        arguments = arguments.Replace("{empty}", Path.Combine(dir, "empty.txt")).Replace("{short}", Path.Combine(dir, "short.txt")).Replace("{dir}", dir);
        if (!arguments.Contains("--out")) arguments += $" --out {Path.Combine(dir, "out")}";
        SampleProcess.AssertOneLineError(SampleProcess.Run("RnnTextClipping.dll", arguments), expected);
        Directory.Delete(dir, recursive: true);
    }
}
