using GradientHooks.Corpus.Data;
using GradientHooks.Diagnostics;
using GradientHooks.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.Corpus.Runs;

/// <summary>ML.NET pipelines with the TorchMlp trainer, written as ML.NET's samples write them; all healthy (the broken ones: <see cref="MLNetFaultRuns"/>).</summary>
public static class MLNetRuns
{
    /// <summary>The ML.NET samples' taxi-fare regression: one-hot vendor, rate code and payment type, normalised, TorchMlp(seed: 1).</summary>
    public static CorpusRun TaxiFare() => Healthy("taxi-fare", "taxi-fare-train.csv (100,000 trips)", "ML.NET: OneHot + Concatenate + NormalizeMeanVariance + TorchMlp",
        "TorchMlp defaults (64-64 ReLU, He, Adam, 1,248 rows a step at lr 4.4e-3 annealed over the last 30 % of steps, 20 epochs), seed 1, 80/20 split", new[] { "taxi-fare-train.csv" }, () =>
        {
            var ml = new MLContext(seed: 1);
            var (train, testSet, featurize) = TaxiFareData(ml, normalize: true);
            var pipeline = featurize
                .Append(ml.Regression.Trainers.TorchMlp(clipping: HealthyGuard.With(null), seed: 1));
            return Fit(ml, pipeline, ml.Data.Cache(train), testSet,
                (model, test) => FormattableString.Invariant($"R² {ml.Regression.Evaluate(model.Transform(test)).RSquared:0.000}"));
        });

    /// <summary>
    /// The taxi-fare pipeline without <c>NormalizeMeanVariance</c>, the commonest ML.NET slip: trip times in seconds
    /// (up to thousands) make every gradient about a thousand times larger than with normalised features, steadily, and
    /// Adam's per-weight scaling trains through it. Large is not exploding: the run must be diagnosed healthy.
    /// </summary>
    public static CorpusRun TaxiFareUnnormalized() => Healthy("taxi-fare-unnormalized", "taxi-fare-train.csv (100,000 trips)", "ML.NET: OneHot + Concatenate (no normalisation) + TorchMlp",
        "TorchMlp defaults on raw features (trip time in seconds), seed 1, 80/20 split", new[] { "taxi-fare-train.csv" }, () =>
        {
            var ml = new MLContext(seed: 1);
            var (train, testSet, featurize) = TaxiFareData(ml, normalize: false);
            var pipeline = featurize.Append(ml.Regression.Trainers.TorchMlp(clipping: HealthyGuard.With(null), seed: 1));
            return Fit(ml, pipeline, ml.Data.Cache(train), testSet,
                (model, test) => FormattableString.Invariant($"R² {ml.Regression.Evaluate(model.Transform(test)).RSquared:0.000}"));
        });

    /// <summary>
    /// taxi-fare-train.csv split 80/20 (seed 1) and the ML.NET samples' featurisation: the fare copied to Label, one-hot
    /// vendor, rate code and payment type, concatenated with passenger count, trip time and distance into Features, then
    /// (<paramref name="normalize"/>) <c>NormalizeMeanVariance</c>.
    /// </summary>
    public static (IDataView Train, IDataView Test, IEstimator<ITransformer> Featurize) TaxiFareData(MLContext ml, bool normalize)
    {
        var data = ml.Data.LoadFromTextFile(SharedData.PathOf("taxi-fare-train.csv"), new[]
        {
            new TextLoader.Column("VendorId", DataKind.String, 0),
            new TextLoader.Column("RateCode", DataKind.String, 1),
            new TextLoader.Column("PassengerCount", DataKind.Single, 2),
            new TextLoader.Column("TripTime", DataKind.Single, 3),
            new TextLoader.Column("TripDistance", DataKind.Single, 4),
            new TextLoader.Column("PaymentType", DataKind.String, 5),
            new TextLoader.Column("FareAmount", DataKind.Single, 6),
        }, separatorChar: ',', hasHeader: true);
        var split = ml.Data.TrainTestSplit(data, 0.2, seed: 1);
        IEstimator<ITransformer> featurize = ml.Transforms.CopyColumns("Label", "FareAmount")
            .Append(ml.Transforms.Categorical.OneHotEncoding("VendorIdEncoded", "VendorId"))
            .Append(ml.Transforms.Categorical.OneHotEncoding("RateCodeEncoded", "RateCode"))
            .Append(ml.Transforms.Categorical.OneHotEncoding("PaymentTypeEncoded", "PaymentType"))
            .Append(ml.Transforms.Concatenate("Features", "VendorIdEncoded", "RateCodeEncoded", "PaymentTypeEncoded", "PassengerCount", "TripTime", "TripDistance"));
        if (normalize) featurize = featurize.Append(ml.Transforms.NormalizeMeanVariance("Features"));
        return (split.TrainSet, split.TestSet, featurize);
    }

    /// <summary>Bike-sharing hourly demand: one-hot calendar and weather, min-max normalised, TorchMlp 128-64, 20 epochs.</summary>
    public static CorpusRun BikeSharing() => Healthy("bike-sharing", "bike-sharing hour_train/test (13,949 + 3,430 hours)", "ML.NET: OneHot + Concatenate + NormalizeMinMax + TorchMlp 128-64",
        "Adam, default batch (217 rows) and lr (1.8e-3, annealed over the last 30 %), 20 epochs, seed 1", new[] { "bike-sharing-hour_train.csv", "bike-sharing-hour_test.csv" }, () =>
        {
            var ml = new MLContext(seed: 1);
            var header = "instant,dteday,season,yr,mnth,hr,holiday,weekday,workingday,weathersit,temp,atemp,hum,windspeed,casual,registered,cnt".Split(',');
            string[] categorical = { "season", "mnth", "hr", "weekday", "weathersit" };
            string[] numeric = { "yr", "holiday", "workingday", "temp", "atemp", "hum", "windspeed" };
            var columns = categorical.Concat(numeric).Append("cnt").Select(c => new TextLoader.Column(c, DataKind.Single, Array.IndexOf(header, c))).ToArray();
            IDataView Load(string file) => ml.Data.LoadFromTextFile(SharedData.PathOf(file), columns, separatorChar: ',', hasHeader: true);
            var pipeline = ml.Transforms.Categorical.OneHotEncoding(categorical.Select(c => new InputOutputColumnPair(c + "Encoded", c)).ToArray())
                .Append(ml.Transforms.Concatenate("Features", categorical.Select(c => c + "Encoded").Concat(numeric).ToArray()))
                .Append(ml.Transforms.NormalizeMinMax("Features"))
                .Append(ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { LabelColumnName = "cnt", HiddenLayers = new[] { 128, 64 }, Epochs = 20, Seed = 1, Clipping = HealthyGuard.With(null) }));
            return Fit(ml, pipeline, ml.Data.Cache(Load("bike-sharing-hour_train.csv")), Load("bike-sharing-hour_test.csv"),
                (model, test) => FormattableString.Invariant($"R² {ml.Regression.Evaluate(model.Transform(test), "cnt").RSquared:0.000}"));
        });

    /// <summary>Iris: MapValueToKey, min-max, TorchMlp 32-32, batch 16, 60 epochs.</summary>
    public static CorpusRun Iris() => Healthy("iris", "iris (150 × 4)", "ML.NET: MapValueToKey + NormalizeMinMax + TorchMlp 32-32",
        "Adam 1e-3, batch 16, 60 epochs, seed 1, 70/30 split", new[] { "iris.txt" }, () =>
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromTextFile(SharedData.PathOf("iris.txt"), new[]
            {
                new TextLoader.Column("Label", DataKind.Single, 0), new TextLoader.Column("Measurements", DataKind.Single, 1, 4),
            }, hasHeader: false);
            var split = ml.Data.TrainTestSplit(data, 0.3, seed: 1);
            var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
                .Append(ml.Transforms.NormalizeMinMax("Features", "Measurements"))
                .Append(ml.MulticlassClassification.Trainers.TorchMlp(new TorchMlpOptions { HiddenLayers = new[] { 32, 32 }, Epochs = 60, BatchSize = 16, Seed = 1, Clipping = HealthyGuard.With(null) }));
            return Fit(ml, pipeline, split.TrainSet, split.TestSet,
                (model, test) => FormattableString.Invariant($"accuracy {ml.MulticlassClassification.Evaluate(model.Transform(test)).MacroAccuracy:0.000}"));
        });

    /// <summary>Breast cancer: missing values replaced by the mean, min-max, TorchMlp 32-32.</summary>
    public static CorpusRun BreastCancer() => Healthy("breast-cancer", "breast-cancer (699 × 9, 16 missing)", "ML.NET: ReplaceMissingValues + NormalizeMinMax + TorchMlp 32-32",
        "Adam 1e-3, batch 32, 40 epochs, seed 1, 70/30 split", new[] { "breast-cancer.txt" }, () =>
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromTextFile(SharedData.PathOf("breast-cancer.txt"), new[]
            {
                new TextLoader.Column("Label", DataKind.Boolean, 0), new TextLoader.Column("Cells", DataKind.Single, 1, 9),
            }, hasHeader: false);
            var split = ml.Data.TrainTestSplit(data, 0.3, seed: 1);
            var pipeline = ml.Transforms.ReplaceMissingValues("Cells")
                .Append(ml.Transforms.NormalizeMinMax("Features", "Cells"))
                .Append(ml.BinaryClassification.Trainers.TorchMlp(new TorchMlpOptions { HiddenLayers = new[] { 32, 32 }, Epochs = 40, BatchSize = 32, Seed = 1, Clipping = HealthyGuard.With(null) }));
            return Fit(ml, pipeline, split.TrainSet, split.TestSet,
                (model, test) => FormattableString.Invariant($"AUC {ml.BinaryClassification.Evaluate(model.Transform(test)).AreaUnderRocCurve:0.000}"));
        });

    /// <summary>Wikipedia detox comments: FeaturizeText (word and character n-grams) into TorchMlp 64-64.</summary>
    public static CorpusRun DetoxText() => Healthy("detox-text", "wikipedia-detox 250 + 18 comments", "ML.NET: FeaturizeText + TorchMlp 64-64",
        "Adam 1e-3, batch 16, 30 epochs, seed 1", new[] { "wikipedia-detox-250-line-data.tsv", "wikipedia-detox-250-line-test.tsv" }, () =>
        {
            var ml = new MLContext(seed: 1);
            IDataView Load(string file) => ml.Data.LoadFromTextFile(SharedData.PathOf(file), new[]
            {
                new TextLoader.Column("Label", DataKind.Boolean, 0), new TextLoader.Column("Text", DataKind.String, 1),
            }, separatorChar: '\t', hasHeader: true, allowQuoting: true);
            var pipeline = ml.Transforms.Text.FeaturizeText("Features", "Text")
                .Append(ml.BinaryClassification.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 30, BatchSize = 16, Seed = 1, Clipping = HealthyGuard.With(null) }));
            return Fit(ml, pipeline, Load("wikipedia-detox-250-line-data.tsv"), Load("wikipedia-detox-250-line-test.tsv"),
                (model, test) => FormattableString.Invariant($"accuracy {ml.BinaryClassification.Evaluate(model.Transform(test)).Accuracy:0.000} (18 test rows)"));
        });

    private static CorpusRun Healthy(string name, string data, string model, string setup, string[] files, Func<RunOutcome> train) =>
        new(name, data, model, setup, null, Array.Empty<string>(), Array.Empty<FindingKind>(), files, train);

    internal static RunOutcome Fit(MLContext ml, IEstimator<ITransformer> pipeline, IDataView train, IDataView test, Func<ITransformer, IDataView, string> metric)
    {
        var model = pipeline.Fit(train);
        var trainer = ((IEnumerable<ITransformer>)model).OfType<TorchMlpTransformer>().Single();
        var steps = trainer.TrainingHistory.Sum(e => (long)e.Steps);
        return new RunOutcome(trainer.TrainingDiagnosis!, metric(model, test), steps) { History = trainer.TrainingSteps, SkippedSteps = trainer.TrainingHistory.Sum(e => (long)e.SkippedSteps) };
    }
}
