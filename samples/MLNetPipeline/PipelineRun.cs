using GradientHooks.Samples;
using System.Diagnostics;
using GradientHooks.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;
using Spectre.Console;

namespace MLNetPipeline;

/// <summary>
/// The whole ML.NET workflow with a TorchMlp: load → featurize (replace missing, concatenate, normalise) → train
/// (progress per epoch) → evaluate next to ML.NET's SDCA on the same split → print the gradient diagnosis → save to
/// one file → load in a fresh MLContext → predict with both and show that they agree.
/// </summary>
public sealed class PipelineRun(MLContext ml, IDataView data, string source, string labelColumn, string[] featureColumns, TorchMlpTask task, TorchMlpOptions options)
{
    /// <summary>Runs every step, writes the training charts into <paramref name="charts"/>; returns the process exit code.</summary>
    public int Run(string modelPath, DirectoryInfo charts)
    {
        Console.WriteLine($"Data: {source}; label '{labelColumn}', {featureColumns.Length} feature columns; task {task}");
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.2, seed: options.Seed ?? 1);

        var featurize = ml.Transforms.ReplaceMissingValues(featureColumns.Select(c => new InputOutputColumnPair(c)).ToArray())
            .Append(ml.Transforms.Concatenate("Features", featureColumns))
            .Append(ml.Transforms.NormalizeMinMax("Features"));
        options.FeatureColumnName = "Features";
        options.LabelColumnName = task == TorchMlpTask.MulticlassClassification ? "LabelKey" : labelColumn;
        options.Progress = new Progress(e => Console.WriteLine("  " + e));

        var clock = Stopwatch.StartNew();
        var model = Build(featurize, ml.Regression.Trainers.TorchMlp(options), ml.BinaryClassification.Trainers.TorchMlp(options), ml.MulticlassClassification.Trainers.TorchMlp(options)).Fit(split.TrainSet);
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"Trained in {seconds:F1} s");
        var trainer = ((IEnumerable<ITransformer>)model).OfType<TorchMlpTransformer>().Single();

        var table = new Table().Title("Test set (20 %)").AddColumns("trainer", Metric.Name(task), "training time");
        table.AddRow("TorchMlp", Metric.Of(ml, task, model.Transform(split.TestSet), LabelFor(task)).ToString("F4"), $"{seconds:F1} s");
        var baselineClock = Stopwatch.StartNew();
        try
        {
            var baseline = Build(featurize,
                ml.Regression.Trainers.Sdca(labelColumnName: labelColumn),
                ml.BinaryClassification.Trainers.SdcaLogisticRegression(labelColumnName: labelColumn),
                ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(labelColumnName: "LabelKey")).Fit(split.TrainSet);
            var baselineSeconds = baselineClock.Elapsed.TotalSeconds;
            table.AddRow("SDCA (ML.NET)", Metric.Of(ml, task, baseline.Transform(split.TestSet), LabelFor(task)).ToString("F4"), $"{baselineSeconds:F1} s");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            table.AddRow("SDCA (ML.NET)", "failed", Markup.Escape(e.Message)); // the comparison is optional; ML.NET's SDCA can diverge on small sets
        }
        AnsiConsole.Write(table);

        Console.WriteLine("Gradient diagnosis of the training run");
        Console.WriteLine(trainer.TrainingDiagnosis!.ToString());
        var run = new Dictionary<string, IReadOnlyList<GradientHooks.StepRecord>> { ["TorchMlp"] = trainer.TrainingSteps };
        var written = new[]
        {
            GradientHooks.Reporting.GradientCharts.CompareRuns(run, GradientHooks.Reporting.ChartMetric.Loss, Path.Combine(charts.FullName, "loss.png")),
            GradientHooks.Reporting.GradientCharts.GradientFlow(run, Path.Combine(charts.FullName, "gradient-flow.png")),
        };
        Console.WriteLine($"Charts in {charts.FullName}: {string.Join(", ", written.Select(Path.GetFileName))}");

        ml.Model.SaveTorchMlp(model, data.Schema, modelPath);
        var loaded = new MLContext().Model.LoadTorchMlp(modelPath, out _);
        Console.WriteLine($"Saved to {modelPath} ({new FileInfo(modelPath).Length:N0} bytes) and loaded back in a fresh MLContext");

        var column = task == TorchMlpTask.MulticlassClassification ? "PredictedValue" : "Score";
        var sample = ml.Data.TakeRows(split.TestSet, 5);
        var before = Values(model.Transform(sample), column);
        var after = Values(loaded.Transform(sample), column);
        var predictions = new Table().Title("First test rows").AddColumns("label", "prediction", "after reload");
        foreach (var (label, a, b) in Values(sample, labelColumn).Zip(before, after)) predictions.AddRow(label, a, b);
        AnsiConsole.Write(predictions);
        if (!before.SequenceEqual(after))
        {
            Console.Error.WriteLine("error: the reloaded model predicts differently.");
            return 1;
        }
        return 0;
    }

    private string LabelFor(TorchMlpTask t) => t == TorchMlpTask.MulticlassClassification ? "LabelKey" : labelColumn;

    /// <summary>The pipeline for the task: featurize, (map the label to a key,) train, (map the predicted key back).</summary>
    private IEstimator<ITransformer> Build<TR, TB, TM>(IEstimator<ITransformer> featurize, IEstimator<TR> regression, IEstimator<TB> binary, IEstimator<TM> multiclass)
        where TR : class, ITransformer where TB : class, ITransformer where TM : class, ITransformer => task switch
    {
        TorchMlpTask.Regression => featurize.Append(regression),
        TorchMlpTask.BinaryClassification => featurize.Append(binary),
        _ => featurize.Append(ml.Transforms.Conversion.MapValueToKey("LabelKey", labelColumn)).Append(multiclass)
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedValue", "PredictedLabel")),
    };

    private static string[] Values(IDataView view, string column)
    {
        var converted = new MLContext().Transforms.Conversion.ConvertType("__text", column, DataKind.String);
        return converted.Fit(view).Transform(view).GetColumn<string>("__text").ToArray();
    }

    private sealed class Progress(Action<TorchMlpEpoch> report) : IProgress<TorchMlpEpoch>
    {
        public void Report(TorchMlpEpoch value) => report(value);
    }
}
