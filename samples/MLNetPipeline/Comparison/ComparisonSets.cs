using GradientHooks.Samples;
using GradientHooks.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetPipeline.Comparison;

/// <summary>
/// The four public data sets of ../shared/data, each with ML.NET's own linear trainers (SDCA, L-BFGS) for the
/// task. Sets without a separate test file are split 70/30 with seed 1. Every trainer sees the same features.
/// </summary>
public static class ComparisonSets
{
    /// <summary>The sets whose files are present in <paramref name="dir"/>, in the README's order.</summary>
    public static IEnumerable<ComparisonSet> Available(MLContext ml, DirectoryInfo dir)
    {
        string P(string file) => Path.Combine(dir.FullName, file);
        if (File.Exists(P("iris.txt"))) yield return Iris(ml, P("iris.txt"));
        if (File.Exists(P("optdigits-train.csv")) && File.Exists(P("optdigits-test.csv"))) yield return OptDigits(ml, P("optdigits-train.csv"), P("optdigits-test.csv"));
        if (File.Exists(P("breast-cancer.txt"))) yield return BreastCancer(ml, P("breast-cancer.txt"));
        if (File.Exists(P("bike-sharing-hour_train.csv")) && File.Exists(P("bike-sharing-hour_test.csv")))
            yield return BikeSharing(ml, P("bike-sharing-hour_train.csv"), P("bike-sharing-hour_test.csv"));
    }

    private static ComparisonSet Iris(MLContext ml, string path)
    {
        var data = ml.Data.LoadFromTextFile(path, new[]
        {
            new TextLoader.Column("Label", DataKind.Single, 0), new TextLoader.Column("Measurements", DataKind.Single, 1, 4),
        }, hasHeader: false);
        var split = ml.Data.TrainTestSplit(data, 0.3, seed: 1);
        return new ComparisonSet("iris (150 × 4, 3 classes)", TorchMlpTask.MulticlassClassification, split.TrainSet, split.TestSet,
            ml.Transforms.Conversion.MapValueToKey("LabelKey", "Label").Append(ml.Transforms.NormalizeMinMax("Features", "Measurements")),
            "LabelKey", new TorchMlpOptions { LabelColumnName = "LabelKey", HiddenLayers = new[] { 32, 32 }, Epochs = 100, BatchSize = 16, LearningRate = 1e-3, Seed = 1 },
            Multiclass(ml, "LabelKey"));
    }

    private static ComparisonSet OptDigits(MLContext ml, string train, string test)
    {
        var columns = new[] { new TextLoader.Column("Pixels", DataKind.Single, 0, 63), new TextLoader.Column("Digit", DataKind.Single, 64) };
        IDataView Load(string p) => ml.Data.LoadFromTextFile(p, columns, separatorChar: ',', hasHeader: false);
        return new ComparisonSet("optdigits (3,823 + 1,797 × 64, 10 classes)", TorchMlpTask.MulticlassClassification, Load(train), Load(test),
            ml.Transforms.Conversion.MapValueToKey("LabelKey", "Digit").Append(ml.Transforms.NormalizeMinMax("Features", "Pixels")),
            "LabelKey", new TorchMlpOptions { LabelColumnName = "LabelKey", HiddenLayers = new[] { 128, 64 }, Epochs = 30, BatchSize = 64, LearningRate = 1e-3, Seed = 1 },
            Multiclass(ml, "LabelKey"));
    }

    private static ComparisonSet BreastCancer(MLContext ml, string path)
    {
        var data = ml.Data.LoadFromTextFile(path, new[]
        {
            new TextLoader.Column("Label", DataKind.Boolean, 0), new TextLoader.Column("Cells", DataKind.Single, 1, 9),
        }, hasHeader: false);
        var split = ml.Data.TrainTestSplit(data, 0.3, seed: 1);
        return new ComparisonSet("breast-cancer (699 × 9, 16 missing)", TorchMlpTask.BinaryClassification, split.TrainSet, split.TestSet,
            ml.Transforms.ReplaceMissingValues("Cells").Append(ml.Transforms.NormalizeMinMax("Features", "Cells")),
            "Label", new TorchMlpOptions { HiddenLayers = new[] { 32, 32 }, Epochs = 40, BatchSize = 32, LearningRate = 1e-3, Seed = 1 },
            new (string, IEstimator<ITransformer>)[]
            {
                ("SDCA logistic", ml.BinaryClassification.Trainers.SdcaLogisticRegression("Label")),
                ("L-BFGS logistic", ml.BinaryClassification.Trainers.LbfgsLogisticRegression("Label")),
            });
    }

    private static ComparisonSet BikeSharing(MLContext ml, string train, string test)
    {
        string[] categorical = { "season", "mnth", "hr", "weekday", "weathersit" };
        string[] numeric = { "yr", "holiday", "workingday", "temp", "atemp", "hum", "windspeed" };
        var columns = categorical.Concat(numeric).Select(name => new TextLoader.Column(name, DataKind.Single, Index(name)))
            .Append(new TextLoader.Column("cnt", DataKind.Single, Index("cnt"))).ToArray();
        IDataView Load(string p) => ml.Data.LoadFromTextFile(p, columns, separatorChar: ',', hasHeader: true);
        var featurize = ml.Transforms.Categorical.OneHotEncoding(categorical.Select(c => new InputOutputColumnPair(c + "_1hot", c)).ToArray())
            .Append(ml.Transforms.Concatenate("Features", categorical.Select(c => c + "_1hot").Concat(numeric).ToArray()))
            .Append(ml.Transforms.NormalizeMinMax("Features"));
        return new ComparisonSet("bike-sharing hourly (13,949 + 3,430 × 12)", TorchMlpTask.Regression, Load(train), Load(test), featurize, "cnt",
            new TorchMlpOptions { LabelColumnName = "cnt", HiddenLayers = new[] { 128, 64 }, Epochs = 30, BatchSize = 64, LearningRate = 1e-3, Seed = 1 },
            new (string, IEstimator<ITransformer>)[]
            {
                ("SDCA", ml.Regression.Trainers.Sdca("cnt")),
                ("L-BFGS Poisson", ml.Regression.Trainers.LbfgsPoissonRegression("cnt")),
            });

        static int Index(string name) => Array.IndexOf(
            "instant,dteday,season,yr,mnth,hr,holiday,weekday,workingday,weathersit,temp,atemp,hum,windspeed,casual,registered,cnt".Split(','), name);
    }

    private static (string, IEstimator<ITransformer>)[] Multiclass(MLContext ml, string label) => new (string, IEstimator<ITransformer>)[]
    {
        ("SDCA max-entropy", ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(label)),
        ("L-BFGS max-entropy", ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(label)),
    };
}
