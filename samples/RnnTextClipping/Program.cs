// Character-level RNN language model trained twice on the same text from the same initial weights: once without
// clipping, once with a clipping policy. Both runs use the two GradientHooks lines (see CharRnnTrainer.cs).
//   dotnet run -c Release --project samples/RnnTextClipping
//   dotnet run -c Release --project samples/RnnTextClipping -- --text ../shared/data/tinyshakespeare_input.txt
using System.CommandLine;
using GradientHooks;
using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using GradientHooks.Reporting;
using GradientHooks.Samples;
using RnnTextClipping;
using Spectre.Console;

if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 240;   // a log or a pipe gets whole lines, not 80-column wraps

var defaults = new TrainingSettings();
var textOption = new Option<FileInfo?>("--text") { Description = "Text file to train on (default: a generated corpus with nested brackets and quoted speech)." };
var cellOption = new Option<string>("--cell") { Description = "Recurrent cell: rnn (tanh), lstm or gru.", DefaultValueFactory = _ => defaults.Cell };
var clipOption = new Option<string>("--clip") { Description = "Policy of the second run: none, value, norm, adaptive, agc, zscore, adagc or spikes.", DefaultValueFactory = _ => "norm" };
var stepsOption = new Option<int>("--steps") { Description = "Training steps per run.", DefaultValueFactory = _ => defaults.Steps };
var hiddenOption = new Option<int>("--hidden") { Description = "Hidden units.", DefaultValueFactory = _ => defaults.Hidden };
var seqOption = new Option<int>("--seq-len") { Description = "Characters per truncated-BPTT chunk.", DefaultValueFactory = _ => defaults.SequenceLength };
var lrOption = new Option<double>("--lr") { Description = "SGD learning rate.", DefaultValueFactory = _ => defaults.LearningRate };
var seedOption = new Option<int>("--seed") { Description = "Seed of the initial weights.", DefaultValueFactory = _ => defaults.Seed };
var markdownOption = new Option<bool>("--markdown") { Description = "Also print the comparison as a Markdown table (what docs/samples.md quotes)." };
var outOption = new Option<DirectoryInfo>("--out") { Description = "Folder for charts and TensorBoard logs.", DefaultValueFactory = _ => new DirectoryInfo("rnn-clipping-output") };

var root = new RootCommand("Train a character RNN with and without gradient clipping and compare.")
{
    textOption, cellOption, clipOption, stepsOption, hiddenOption, seqOption, lrOption, seedOption, outOption, markdownOption,
};
root.SetAction(parse =>
{
    var settings = new TrainingSettings
    {
        Cell = Choice(parse.GetValue(cellOption)!, "--cell", "rnn", "lstm", "gru"),
        Steps = Positive(parse.GetValue(stepsOption), "--steps"),
        Hidden = Positive(parse.GetValue(hiddenOption), "--hidden"),
        SequenceLength = Positive(parse.GetValue(seqOption), "--seq-len"),
        LearningRate = parse.GetValue(lrOption) is > 0 and var lr && double.IsFinite(lr) ? lr : throw new SampleException("--lr must be a positive number."),
        Seed = parse.GetValue(seedOption),
    };
    var clipName = Choice(parse.GetValue(clipOption)!, "--clip", "none", "value", "norm", "adaptive", "agc", "zscore", "adagc", "spikes");
    var text = parse.GetValue(textOption);
    var output = SampleCommandLine.OutputFolder(parse.GetValue(outOption)!, "--out");
    var corpus = text is null ? CharCorpus.Generate() : CharCorpus.FromFile(SampleCommandLine.InputFile(text, "--text").FullName, settings.SequenceLength, settings.BatchSize);
    corpus.CheckLength(settings.SequenceLength, settings.BatchSize, "the corpus");
    return Run(corpus, settings, clipName, output, parse.GetValue(markdownOption));
});
return SampleCommandLine.Invoke(root, args);

static int Run(CharCorpus corpus, TrainingSettings settings, string clipName, DirectoryInfo output, bool markdown)
{
    AnsiConsole.MarkupLine($"[bold]Corpus[/]: {Markup.Escape(corpus.Source)}, {corpus.Text.Length:N0} characters, {corpus.Vocabulary.Length} symbols");
    AnsiConsole.MarkupLine($"[bold]Model[/]: Embedding → {settings.Cell.ToUpperInvariant()}({settings.Hidden}) → Linear; SGD lr {settings.LearningRate}, batch {settings.BatchSize} × {settings.SequenceLength} characters, {settings.Steps} steps per run");

    var runs = new List<RunResult>();
    foreach (var (name, policy) in new[] { ("no clipping", (IClippingPolicy?)null), (Describe(clipName), Policy(clipName)) })
    {
        if (runs.Count == 1 && policy is null) break;
        var slug = name.Replace(' ', '-').Replace('(', '_').Replace(')', '_').Replace('.', '_');
        var result = CharRnnTrainer.Train(corpus, settings, name, policy, Path.Combine(output.FullName, "tensorboard", slug),
            runSteps: (monitor, steps, body) => TrainingProgress.Run(monitor, steps, body, name),
            runLogPath: Path.Combine(output.FullName, $"{slug}.jsonl"), reportPath: Path.Combine(output.FullName, $"{slug}.html"));
        runs.Add(result);
    }

    var table = new Table().Title("Same model, same data, same initial weights").AddColumn("").AddColumns(runs.Select(r => new TableColumn(Markup.Escape(r.Name)).RightAligned()).ToArray());
    var rows = new List<string[]>();
    void Row(string label, Func<RunResult, string> value)
    {
        var row = new[] { label }.Concat(runs.Select(value)).ToArray();
        rows.Add(row);
        table.AddRow(row);
    }
    Row("final validation loss (nats/char)", r => r.FinalValidation.ToString("0.000"));
    Row("best validation loss", r => r.BestValidation.ToString("0.000"));
    Row("bits per character (final)", r => r.FinalBitsPerCharacter.ToString("0.000"));
    Row("max total gradient norm", r => r.MaxGradientNorm.ToString("0.00e+0"));
    Row("clipped steps", r => r.ClippedSteps.ToString());
    Row("skipped steps", r => r.SkippedSteps.ToString());
    Row("diagnosis", r => Markup.Escape(r.Diagnosis.IsHealthy ? "healthy" : string.Join(", ", r.Diagnosis.Findings.Where(f => f.Severity >= Severity.Warning).Select(f => $"{f.Title} ({f.Severity})"))));
    AnsiConsole.Write(table);
    if (markdown)
    {
        Console.WriteLine();
        Console.WriteLine($"| {settings.Cell} ({settings.Hidden}), SGD lr {settings.LearningRate}, {settings.Steps} steps | {string.Join(" | ", runs.Select(r => r.Name))} |");
        Console.WriteLine($"|---|{string.Concat(runs.Select(_ => "---:|"))}");
        foreach (var row in rows) Console.WriteLine($"| {string.Join(" | ", row.Select(c => Markup.Remove(c)))} |");
        Console.WriteLine();
    }

    foreach (var r in runs)
        foreach (var f in r.Diagnosis.Findings.Where(f => f.Severity >= Severity.Warning))
        {
            var story = f.Cause is { } cause ? $" [grey](since step {f.Since}, follows from {cause})[/]" : f.Since is long since ? $" [grey](since step {since})[/]" : "";
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(r.Name)}[/]: {Markup.Escape(f.Summary)}{story}");
            foreach (var e in f.Evidence.Take(3)) AnsiConsole.MarkupLine($"    [grey]{Markup.Escape(e)}[/]");
        }

    var best = runs[^1];
    AnsiConsole.MarkupLine($"\n[bold]Sampled from the {Markup.Escape(best.Name)} model[/] (temperature 0.8):");
    var prompt = corpus.Text[..Math.Min(20, corpus.Text.Length)];
    AnsiConsole.WriteLine(best.Model.Sample(corpus, prompt, 300, 0.8, settings.Seed));

    var byName = runs.ToDictionary(r => r.Name, r => r.Steps);
    var charts = new[]
    {
        GradientCharts.CompareRuns(byName, ChartMetric.Loss, Path.Combine(output.FullName, "loss.png")),
        GradientCharts.CompareRuns(byName, ChartMetric.GradientNorm, Path.Combine(output.FullName, "gradient-norm.png"), Threshold(clipName)),
        GradientCharts.GradientFlow(byName, Path.Combine(output.FullName, "gradient-flow.png"), lastSteps: 50),
    };
    AnsiConsole.MarkupLine($"\n[bold]Output[/] in {Markup.Escape(output.FullName)}: {string.Join(", ", charts.Select(Path.GetFileName))}, a report and a run log per run (*.html, *.jsonl: gradienthooks diagnose <log>), tensorboard/ (tensorboard --logdir {Markup.Escape(Path.Combine(output.FullName, "tensorboard"))})");
    return 0;
}

static IClippingPolicy? Policy(string name) => name switch
{
    "value" => Clip.Value(0.05),
    "norm" => Clip.GlobalNorm(1.0),
    "adaptive" => Clip.Adaptive(10),
    "agc" => Clip.Unitwise(0.05),
    "zscore" => Clip.ZScore(),
    "adagc" => Clip.AdaGC(),
    "spikes" => Clip.SkipSpikes(),
    _ => null,
};

static double? Threshold(string name) => name == "norm" ? 1.0 : null;   // the limit of Clip.GlobalNorm(1.0), drawn on the norm chart

static string Describe(string name) => name switch
{
    "value" => "Clip.Value(0.05)",
    "norm" => "Clip.GlobalNorm(1.0)",
    "adaptive" => "Clip.Adaptive(10)",
    "agc" => "Clip.Unitwise(0.05)",
    "zscore" => "Clip.ZScore()",
    "adagc" => "Clip.AdaGC()",
    "spikes" => "Clip.SkipSpikes()",
    _ => "no clipping",
};

static string Choice(string value, string option, params string[] allowed) =>
    allowed.Contains(value) ? value : throw new SampleException($"{option}: '{value}' is not one of {string.Join(", ", allowed)}.");

static int Positive(int value, string option) => value > 0 ? value : throw new SampleException($"{option} must be a positive integer, got {value}.");
