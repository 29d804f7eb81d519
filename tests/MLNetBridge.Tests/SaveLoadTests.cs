using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>A pipeline with a TorchMlp saves to one ML.NET .zip and loads back with identical predictions.</summary>
public sealed class SaveLoadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("torchmlp-save-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Multiclass_pipeline_with_custom_column_names_round_trips_bit_for_bit()
    {
        var ml = new MLContext(1);
        var data = Synthetic.Quadrants(ml, 400);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("ClassKey", "Class")
            .Append(ml.Transforms.NormalizeMinMax("Inputs", "Features"))
            .Append(ml.MulticlassClassification.Trainers.TorchMlp(new TorchMlpOptions
            {
                LabelColumnName = "ClassKey", FeatureColumnName = "Inputs", Epochs = 5, Seed = 1, BatchNorm = true, Activation = Initialization.Activation.GELU,
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel"));
        var model = pipeline.Fit(data);
        var path = Path.Combine(_dir, "model.zip");
        ml.Model.SaveTorchMlp(model, data.Schema, path);

        var fresh = new MLContext(2);
        var loaded = fresh.Model.LoadTorchMlp(path, out var schema);
        Assert.Equal(data.Schema.Select(c => c.Name), schema.Select(c => c.Name));

        var before = model.Transform(data);
        var after = loaded.Transform(data);
        Assert.Equal(before.GetColumn<float[]>("Score").SelectMany(s => s), after.GetColumn<float[]>("Score").SelectMany(s => s));
        Assert.Equal(before.GetColumn<string>("PredictedClass"), after.GetColumn<string>("PredictedClass"));
        Assert.Equal(data.GetColumn<string>("Class").Count(), after.GetColumn<string>("PredictedClass").Count());
        // Evaluate works on the loaded model's output too, with the same result.
        Assert.Equal(ml.MulticlassClassification.Evaluate(before, "ClassKey").MicroAccuracy,
            fresh.MulticlassClassification.Evaluate(after, "ClassKey").MicroAccuracy);
        var restored = Assert.IsType<TorchMlpTransformer>(((IEnumerable<ITransformer>)loaded).ElementAt(2));
        Assert.Equal("Inputs", restored.FeatureColumnName);
        Assert.Null(restored.TrainingDiagnosis);
    }

    [Fact]
    public void Binary_and_regression_models_round_trip_through_a_stream_and_a_prediction_engine()
    {
        var ml = new MLContext(1);
        var binary = ml.BinaryClassification.Trainers.TorchMlp(epochs: 3, seed: 1).Fit(Synthetic.Binary(ml, 300));
        var regression = ml.Regression.Trainers.TorchMlp(epochs: 3, seed: 1).Fit(Synthetic.Regression(ml, 300));
        var rows = new[] { new[] { 0.1f, -0.5f, 1.2f, 0.3f }, new[] { 1.4f, 1.4f, -1.4f, 0.0f } };

        foreach (ITransformer model in new ITransformer[] { binary, regression })
        {
            var schema = (model == binary ? Synthetic.Binary(ml, 1) : Synthetic.Regression(ml, 1)).Schema;
            using var stream = new MemoryStream();
            ml.Model.SaveTorchMlp(model, schema, stream);
            stream.Position = 0;
            var loaded = new MLContext().Model.LoadTorchMlp(stream, out _);
            foreach (var features in rows)
            {
                if (model == binary)
                {
                    var a = ml.Model.CreatePredictionEngine<Input, BinaryOutput>(model).Predict(new Input { Features = features });
                    var b = ml.Model.CreatePredictionEngine<Input, BinaryOutput>(loaded).Predict(new Input { Features = features });
                    Assert.Equal(a.Score, b.Score);
                    Assert.Equal(a.Probability, b.Probability);
                    Assert.Equal(a.PredictedLabel, b.PredictedLabel);
                    Assert.Equal(1 / (1 + Math.Exp(-a.Score)), a.Probability, 6);
                    Assert.Equal(a.Score > 0, a.PredictedLabel);
                }
                else
                {
                    var a = ml.Model.CreatePredictionEngine<Input, RegressionOutput>(model).Predict(new Input { Features = features });
                    var b = ml.Model.CreatePredictionEngine<Input, RegressionOutput>(loaded).Predict(new Input { Features = features });
                    Assert.Equal(a.Score, b.Score);
                }
            }
        }
    }

    [Fact]
    public void Plain_ML_NET_save_and_load_refuse_with_the_method_to_use()
    {
        var ml = new MLContext(1);
        var data = Synthetic.Regression(ml, 100);
        var model = ml.Regression.Trainers.TorchMlp(epochs: 1, seed: 1).Fit(data);
        var plain = Path.Combine(_dir, "plain.zip");
        var save = Record.Exception(() => ml.Model.Save(model, data.Schema, plain));
        Assert.NotNull(save);
        Assert.Contains("SaveTorchMlp", Flatten(save));

        var ours = Path.Combine(_dir, "ours.zip");
        ml.Model.SaveTorchMlp(model, data.Schema, ours);
        var load = Record.Exception(() => ml.Model.Load(ours, out _));
        Assert.NotNull(load);
        Assert.Contains("LoadTorchMlp", Flatten(load));
        // The file is an ordinary ML.NET zip with the network as one more entry.
        using var zip = System.IO.Compression.ZipFile.OpenRead(ours);
        Assert.Contains(zip.Entries, e => e.FullName == "GradientHooks/TorchMlp/0.bin");
        Assert.Contains(zip.Entries, e => e.FullName.StartsWith("TransformerChain/", StringComparison.Ordinal) || e.FullName.StartsWith("Model/", StringComparison.Ordinal));
    }

    [Fact]
    public void SaveTorchMlp_replaces_a_file_whole_and_leaves_nothing_behind_when_it_fails()
    {
        var ml = new MLContext(1);
        var data = Synthetic.Regression(ml, 60);
        var first = ml.Regression.Trainers.TorchMlp(epochs: 1, seed: 1).Fit(data);
        var second = ml.Regression.Trainers.TorchMlp(epochs: 1, seed: 2).Fit(data);
        var path = Path.Combine(_dir, "model.zip");
        ml.Model.SaveTorchMlp(first, data.Schema, path);
        ml.Model.SaveTorchMlp(second, data.Schema, path);
        float[] Scores(ITransformer t) => t.Transform(data).GetColumn<float>("Score").ToArray();
        Assert.Equal(Scores(second), Scores(ml.Model.LoadTorchMlp(path, out _)));
        Assert.NotEqual(Scores(first), Scores(second));
        Assert.Equal(new[] { "model.zip" }, Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));

        // The target is a directory: refused, naming the path given (never our temporary file), the directory left as it was.
        var occupied = Directory.CreateDirectory(Path.Combine(_dir, "occupied.zip")).FullName;
        var folder = Assert.ThrowsAny<IOException>(() => ml.Model.SaveTorchMlp(second, data.Schema, occupied));
        Assert.Contains($"'{occupied}': it is a folder", folder.Message);
        Assert.DoesNotContain(".tmp", folder.Message);
        Assert.Empty(Directory.GetFileSystemEntries(occupied));
        Assert.Equal(new[] { "model.zip", "occupied.zip" }, Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order());
        // The directory does not exist: nothing is created.
        var absent = Assert.Throws<DirectoryNotFoundException>(() => ml.Model.SaveTorchMlp(second, data.Schema, Path.Combine(_dir, "absent", "model.zip")));
        Assert.Equal($"Cannot save the model to '{Path.Combine(_dir, "absent", "model.zip")}': its folder '{Path.Combine(_dir, "absent")}' does not exist.", absent.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "absent")));
    }

    [Fact]
    public void Loading_a_missing_file_or_a_file_without_the_network_says_so()
    {
        var ml = new MLContext(1);
        Assert.Throws<FileNotFoundException>(() => ml.Model.LoadTorchMlp(Path.Combine(_dir, "absent.zip"), out _));
        var data = Synthetic.Regression(ml, 50);
        var path = Path.Combine(_dir, "stripped.zip");
        ml.Model.SaveTorchMlp(ml.Regression.Trainers.TorchMlp(epochs: 1, seed: 1).Fit(data), data.Schema, path);
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Update))
            zip.GetEntry("GradientHooks/TorchMlp/0.bin")!.Delete();
        var error = Assert.Throws<InvalidDataException>(() => ml.Model.LoadTorchMlp(path, out _));
        Assert.Contains("without its network entry", error.Message);
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + Flatten(e.InnerException);

    public sealed class Input
    {
        [VectorType(4)] public float[] Features = Array.Empty<float>();
    }

    public sealed class BinaryOutput
    {
        public float Score;
        public float Probability;
        public bool PredictedLabel;
    }

    public sealed class RegressionOutput
    {
        public float Score;
    }
}
