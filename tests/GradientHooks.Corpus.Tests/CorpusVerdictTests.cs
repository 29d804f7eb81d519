using GradientHooks.Corpus.Data;
using GradientHooks.Diagnostics;
using Xunit;
using Xunit.Abstractions;

namespace GradientHooks.Corpus.Tests;

/// <summary>
/// Every run of the diagnosis corpus (real data, models written as users write them) gets the verdict it must get:
/// healthy runs no Warning or Critical finding, broken runs the expected kind naming the expected layers and no wrong
/// kind. The same judgement produces the README's confusion table (<c>dotnet run --project tests/GradientHooks.Corpus</c>).
/// </summary>
public class CorpusVerdictTests(ITestOutputHelper output, CorpusVerdictTests.TrainedRuns runs) : IClassFixture<CorpusVerdictTests.TrainedRuns>
{
    /// <summary>Every run trained at most once per test run, on first use, and its verdict kept for every assertion.</summary>
    public sealed class TrainedRuns
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Verdict>> _verdicts = new();

        /// <summary>The hand-written loops write their run logs here, so that the offline diagnosis can be checked against the live one.</summary>
        public TrainedRuns() => RunLogs.Folder = Directory.CreateTempSubdirectory("corpus-logs-").FullName;

        public Verdict Of(string name) => _verdicts.GetOrAdd(name, n => new Lazy<Verdict>(() => Corpus.Run(Corpus.Named(n)))).Value;

        public IReadOnlyList<Verdict> All() => Corpus.All.Select(r => Of(r.Name)).ToList();
    }

    public static TheoryData<string> RunNames()
    {
        var data = new TheoryData<string>();
        foreach (var run in Corpus.All) data.Add(run.Name);
        return data;
    }

    [CorpusTheory]
    [MemberData(nameof(RunNames))]
    public void The_run_gets_its_verdict(string name)
    {
        var run = Corpus.Named(name);
        var missing = run.Files.Where(f => !SharedData.Has(f)).ToList();
        Assert.True(missing.Count == 0, $"needs ../shared/data/{string.Join(", ", missing)}");
        var verdict = runs.Of(name);
        output.WriteLine($"{run.Name}: {verdict.Outcome.Metric}, {verdict.Outcome.Steps} steps; {verdict.Found}");
        output.WriteLine(verdict.Outcome.Diagnosis.ToString());
        Assert.True(verdict.Correct, verdict.Reason);
        if (run.Healthy) Assert.True(verdict.Outcome.Diagnosis.IsHealthy);
        else Assert.Contains(verdict.Problems, p => p.Kind == run.Expected && p.Remedies.Count > 0);
    }

    [CorpusFact]
    public void The_NaN_input_run_names_the_input_batch_as_the_origin()
    {
        var verdict = runs.Of("breast-cancer-nan-input");
        var finding = Assert.Single(verdict.Problems, p => p.Kind == FindingKind.NonFiniteGradients);
        Assert.Contains("the input batch held NaN/Inf before the first layer", finding.Evidence[0]);
    }

    [CorpusFact]
    public void The_table_in_docs_is_the_one_the_corpus_prints()
    {
        var table = ConfusionTable.Markdown(runs.All());
        var docs = DocsTable.Read();
        output.WriteLine(table);
        Assert.True(docs == table.TrimEnd(), $"docs/diagnosis.md's corpus table differs from what the corpus prints now; regenerate it with `dotnet run -c Release --project tests/GradientHooks.Corpus -- --write-docs`.\nNow:\n{table}");
    }

    [CorpusTheory]
    [InlineData("optdigits-cnn")]
    [InlineData("optdigits-cnn-lr0.5")]
    [InlineData("optdigits-head-first-sigmoid")]
    [InlineData("shakespeare-rnn-unclipped")]
    [InlineData("breast-cancer-nan-input")]
    [InlineData("optdigits-no-zero-grad")]
    [InlineData("optdigits-fp16-scaled")]
    [InlineData("optdigits-fp16-adam")]
    public void The_run_log_diagnosed_after_the_fact_gives_the_live_diagnosis(string name)
    {
        var verdict = runs.Of(name);
        Assert.NotNull(verdict.Outcome.LogPath);
        var log = GradientHooks.Reporting.RunLog.Load(verdict.Outcome.LogPath!);
        Assert.Equal(verdict.Outcome.Diagnosis.ToJson(), log.Diagnose().ToJson());
    }

    [CorpusTheory]
    [InlineData("optdigits-cnn")]
    [InlineData("optdigits-head-first-sigmoid")]
    [InlineData("optdigits-fp16-loss-weight")]
    public void The_report_of_a_run_says_what_its_diagnosis_says(string name)
    {
        var verdict = runs.Of(name);
        var log = GradientHooks.Reporting.RunLog.Load(verdict.Outcome.LogPath!);
        var path = log.WriteReport(Path.Combine(Path.GetDirectoryName(verdict.Outcome.LogPath!)!, name + ".html"));
        var html = File.ReadAllText(path);
        var d = verdict.Outcome.Diagnosis;
        if (d.IsHealthy) Assert.Contains("gh-badge gh-ok\">healthy", html);
        foreach (var f in d.Findings)
        {
            Assert.Contains($"data-kind=\"{f.Kind}\" data-severity=\"{f.Severity}\"", html);
            foreach (var layer in f.Layers) Assert.Contains(System.Net.WebUtility.HtmlEncode(layer), html);
        }
        foreach (var l in d.Layers) Assert.Contains($"<td>{System.Net.WebUtility.HtmlEncode(l.Layer)}</td>", html);
    }

    [Fact]
    public void The_judge_itself_fails_a_false_alarm_a_missed_or_wrong_root_cause_a_missing_layer_and_a_loose_end()
    {
        var healthy = Corpus.All.First(r => r.Healthy);
        var broken = Corpus.Named("optdigits-cnn-lr0.5");   // root LearningRateTooHigh, then DyingRelu in conv1, conv2, fc1
        Finding Problem(FindingKind kind, FindingKind? cause, params string[] layers) =>
            new(kind, Severity.Warning, kind.ToString(), layers, Array.Empty<string>(), Array.Empty<Remedy>()) { Cause = cause };
        Finding Note(FindingKind kind) => new(kind, Severity.Info, "a note", Array.Empty<string>(), Array.Empty<string>(), Array.Empty<Remedy>());
        var root = Problem(FindingKind.LearningRateTooHigh, null);
        var dying = Problem(FindingKind.DyingRelu, FindingKind.LearningRateTooHigh, "conv1", "conv2", "fc1");

        Assert.True(Verdict.Check(healthy, new[] { Note(FindingKind.ExplodingGradients) }, true).Correct);
        Assert.False(Verdict.Check(healthy, new[] { Problem(FindingKind.ExplodingGradients, null) }, true).Correct);
        Assert.False(Verdict.Check(healthy, Array.Empty<Finding>(), hasEnoughData: false).Correct);
        Assert.True(Verdict.Check(broken, new[] { root, dying, Problem(FindingKind.LossPlateau, FindingKind.DyingRelu) }, true).Correct);
        Assert.False(Verdict.Check(broken, new[] { dying with { Cause = null }, root }, true).Correct);                     // a consequence taken for the root
        Assert.False(Verdict.Check(broken, new[] { Problem(FindingKind.VanishingGradients, null, "conv1") }, true).Correct);  // wrong root
        Assert.False(Verdict.Check(broken, new[] { root }, true).Correct);                                                    // the dead units missed
        Assert.False(Verdict.Check(broken, new[] { root, dying with { Layers = new[] { "fc1" } } }, true).Correct);           // conv1, conv2 not named
        Assert.False(Verdict.Check(broken, new[] { root, dying, Problem(FindingKind.VanishingGradients, FindingKind.DyingRelu) }, true).Correct);   // a kind not in the story
        Assert.False(Verdict.Check(broken, new[] { root, dying, Problem(FindingKind.LossPlateau, null) }, true).Correct);    // a loose end
        var infinity = dying with { Summary = "gradients are Infinity times smaller" };
        Assert.False(Verdict.Check(broken, new[] { root, infinity }, true).Correct);
    }
}

/// <summary>A fact skipped, with the reason, when ../shared/data is not next to this checkout.</summary>
public sealed class CorpusFactAttribute : FactAttribute
{
    public CorpusFactAttribute()
    {
        if (SharedData.Directory is null) Skip = "needs ../shared/data next to this checkout (the corpus trains on the real data sets)";
    }
}

/// <summary>A theory skipped, with the reason, when ../shared/data is not next to this checkout.</summary>
public sealed class CorpusTheoryAttribute : TheoryAttribute
{
    public CorpusTheoryAttribute()
    {
        if (SharedData.Directory is null) Skip = "needs ../shared/data next to this checkout (the corpus trains on the real data sets)";
    }
}
