using GradientHooks.Samples;
using System.Diagnostics;
using GradientHooks.MLNet;
using Microsoft.ML;
using Spectre.Console;

namespace MLNetPipeline.Comparison;

/// <summary>
/// Trains TorchMlp and ML.NET's trainers on each available set, one after the other in this process, and prints
/// the test metric (R², AUC or micro accuracy, from ML.NET's evaluators) and the wall time of <c>Fit</c> (which
/// includes the featurization; data are cached first so every trainer reads the same in-memory rows), then the
/// same table as Markdown for the README.
/// </summary>
public static class BaselineComparison
{
    /// <summary>Runs the comparison; exit code 2 if no data set is found.</summary>
    public static int Run(DirectoryInfo dataDir)
    {
        var ml = new MLContext(1);
        var sets = ComparisonSets.Available(ml, dataDir).ToList();
        if (sets.Count == 0) throw new SampleException($"--data-dir: none of iris.txt, optdigits-*.csv, breast-cancer.txt, bike-sharing-hour_*.csv in '{dataDir.FullName}'.");

        var markdown = new List<string>
        {
            "| data set | metric (test) | TorchMlp | " + "baseline 1 | baseline 2 |",
            "|---|---|---|---|---|",
        };
        foreach (var set in sets)
        {
            var train = ml.Data.Cache(set.Train);
            var test = ml.Data.Cache(set.Test);
            Touch(train);
            Touch(test);
            var results = new List<(string Name, double Metric, double Seconds, string Extra)>();
            var torch = Measure(ml, set, train, test, set.Featurize.Append(Trainer(ml, set)));
            foreach (var finding in torch.Findings)
                Console.WriteLine($"  TorchMlp {finding.Title} ({finding.Severity}): {string.Join("; ", finding.Evidence)}");
            results.Add(("TorchMlp", torch.Metric, torch.Seconds, torch.Extra));
            foreach (var (name, trainer) in set.Baselines)
            {
                var r = Measure(ml, set, train, test, set.Featurize.Append(trainer));
                results.Add((name, r.Metric, r.Seconds, ""));
            }

            var table = new Table().Title(Markup.Escape(set.Name)).AddColumns("trainer", Metric.Name(set.Task), "Fit time", "training diagnosis");
            foreach (var r in results) table.AddRow(Markup.Escape(r.Name), r.Metric.ToString("F4"), $"{r.Seconds:F2} s", Markup.Escape(r.Extra));
            AnsiConsole.Write(table);
            markdown.Add($"| {set.Name} | {Metric.Name(set.Task)} | " + string.Join(" | ", results.Select(r => $"{(r.Name == "TorchMlp" ? "" : r.Name + ": ")}{r.Metric:F4} ({r.Seconds:F1} s)")) + " |");
        }
        AnsiConsole.WriteLine();
        foreach (var line in markdown) Console.WriteLine(line);
        return 0;
    }

    private static IEstimator<ITransformer> Trainer(MLContext ml, ComparisonSet set) => set.Task switch
    {
        TorchMlpTask.Regression => ml.Regression.Trainers.TorchMlp(set.TorchMlp),
        TorchMlpTask.BinaryClassification => ml.BinaryClassification.Trainers.TorchMlp(set.TorchMlp),
        _ => ml.MulticlassClassification.Trainers.TorchMlp(set.TorchMlp),
    };

    private static (double Metric, double Seconds, string Extra, IReadOnlyList<GradientHooks.Diagnostics.Finding> Findings) Measure(MLContext ml, ComparisonSet set, IDataView train, IDataView test, IEstimator<ITransformer> pipeline)
    {
        var clock = Stopwatch.StartNew();
        var model = (IEnumerable<ITransformer>)pipeline.Fit(train);
        var seconds = clock.Elapsed.TotalSeconds;
        var metric = Metric.Of(ml, set.Task, ((ITransformer)model).Transform(test), set.Label);
        var torch = model.OfType<TorchMlpTransformer>().SingleOrDefault();
        var extra = torch?.TrainingDiagnosis is { } d
            ? (d.IsHealthy ? "healthy" : string.Join(", ", d.Findings.Select(f => $"{f.Title} ({f.Severity})")))
            : "";
        return (metric, seconds, extra, torch?.TrainingDiagnosis?.Findings ?? Array.Empty<GradientHooks.Diagnostics.Finding>());
    }

    private static void Touch(IDataView view)
    {
        using var cursor = view.GetRowCursor(view.Schema);
        while (cursor.MoveNext()) { }
    }
}
