// An ML.NET pipeline with a TorchSharp network as its trainer: load, featurize, train TorchMlp (gradients
// monitored, non-finite steps skipped), evaluate next to SDCA, print the gradient diagnosis, save, load, predict.
//   dotnet run -c Release --project samples/MLNetPipeline                       (generated spirals)
//   dotnet run -c Release --project samples/MLNetPipeline -- --data my.csv --label price --task regression
//   dotnet run -c Release --project samples/MLNetPipeline -- compare          (the README's table, from ../shared/data)
using System.CommandLine;
using GradientHooks.MLNet;
using GradientHooks.Samples;
using Microsoft.ML;
using MLNetPipeline;
using MLNetPipeline.Comparison;
using Spectre.Console;

if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 240;   // a log or a pipe gets whole lines, not 80-column wraps

var dataOption = new Option<FileInfo?>("--data") { Description = "CSV or TSV file with a header (default: generated spirals)." };
var labelOption = new Option<string?>("--label") { Description = "Label column of --data (required with --data)." };
var taskOption = new Option<string>("--task") { Description = "regression, binary or multiclass.", DefaultValueFactory = _ => "multiclass" };
var epochsOption = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 40 };
var hiddenOption = new Option<string>("--hidden") { Description = "Hidden layer widths, comma-separated.", DefaultValueFactory = _ => "64,64" };
var lrOption = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 3e-3 };
var seedOption = new Option<int>("--seed") { Description = "Seed for the split, the initial weights and the shuffling.", DefaultValueFactory = _ => 1 };
var outOption = new Option<string>("--out") { Description = "Where to save the fitted pipeline.", DefaultValueFactory = _ => "mlnet-pipeline-model.zip" };
var chartsOption = new Option<DirectoryInfo>("--charts") { Description = "Folder for the training charts (loss.png, gradient-flow.png).", DefaultValueFactory = _ => new DirectoryInfo("mlnet-pipeline-charts") };

var root = new RootCommand("Train a TorchSharp MLP inside an ML.NET pipeline, with gradient diagnostics.")
{
    dataOption, labelOption, taskOption, epochsOption, hiddenOption, lrOption, seedOption, outOption, chartsOption,
};
root.SetAction(parse =>
{
    var task = parse.GetValue(taskOption) switch
    {
        "regression" => TorchMlpTask.Regression,
        "binary" => TorchMlpTask.BinaryClassification,
        "multiclass" => TorchMlpTask.MulticlassClassification,
        var other => throw new SampleException($"--task: '{other}' is not one of regression, binary, multiclass."),
    };
    var seed = parse.GetValue(seedOption);
    var options = new TorchMlpOptions
    {
        Epochs = parse.GetValue(epochsOption) is > 0 and var e ? e : throw new SampleException("--epochs must be positive."),
        HiddenLayers = ParseWidths(parse.GetValue(hiddenOption)!),
        LearningRate = parse.GetValue(lrOption) is > 0 and var lr && double.IsFinite(lr) ? lr : throw new SampleException("--lr must be a positive number."),
        Seed = seed,
    };
    var ml = new MLContext(seed);
    var modelPath = ModelPath(parse.GetValue(outOption)!);
    var charts = SampleCommandLine.OutputFolder(parse.GetValue(chartsOption)!, "--charts");
    var file = parse.GetValue(dataOption);
    if (file is null)
    {
        if (task != TorchMlpTask.MulticlassClassification) throw new SampleException("--task: the generated spirals are a multiclass set; give --data for another task.");
        if (parse.GetValue(labelOption) is { } given) throw new SampleException($"--label '{given}' needs --data: the generated spirals have their own label.");
        var spirals = SpiralData.Generate(ml, 1500, seed);
        return new PipelineRun(ml, spirals, "generated: three interleaved spiral arms (1,500 points)", nameof(SpiralData.Row.Arm), SpiralData.FeatureColumns, task, options)
            .Run(modelPath, charts);
    }
    var (data, label, features) = CsvTable.Load(ml, SampleCommandLine.InputFile(file, "--data").FullName, parse.GetValue(labelOption), task);
    return new PipelineRun(ml, data, file.FullName, label, features, task, options).Run(modelPath, charts);
});

var dataDirOption = new Option<DirectoryInfo>("--data-dir") { Description = "Folder with the shared data sets.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("..", "shared", "data")) };
var compare = new Command("compare", "TorchMlp next to ML.NET's SDCA and L-BFGS trainers on iris, optdigits, breast-cancer and bike-sharing.") { dataDirOption };
compare.SetAction(parse => BaselineComparison.Run(parse.GetValue(dataDirOption)!));
root.Subcommands.Add(compare);
return SampleCommandLine.Invoke(root, args);

// The model file: refused, naming --out, when it is a folder or its folder does not exist (before any training).
static string ModelPath(string path)
{
    var full = Path.GetFullPath(path);
    if (Directory.Exists(full)) throw new SampleException($"--out '{full}' is a folder; give a file path for the model, such as '{Path.Combine(full, "model.zip")}'.");
    var folder = Path.GetDirectoryName(full)!;
    if (!Directory.Exists(folder)) throw new SampleException($"--out '{full}': the folder '{folder}' does not exist.");
    return full;
}

static int[] ParseWidths(string text)
{
    if (text.Trim().Length == 0) return Array.Empty<int>();
    return text.Split(',').Select(s => int.TryParse(s, out var w) && w > 0 ? w : throw new SampleException($"--hidden: '{s}' is not a positive width.")).ToArray();
}
