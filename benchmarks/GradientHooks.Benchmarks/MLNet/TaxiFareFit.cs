using System.Diagnostics;
using GradientHooks.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.Benchmarks.MLNet;

/// <summary>
/// The ML.NET samples' taxi-fare regression (taxi-fare-train.csv, 80/20 split with seed 1, one-hot vendor, rate code
/// and payment type, <c>NormalizeMeanVariance</c>, featurised once and cached), fitted by FastTree, SDCA, TorchMlp
/// with its defaults, with its defaults but a constant learning rate, and at the previous defaults (512 rows a step,
/// constant learning rate 2.8e-3), round after round in one process, the order rotating. Prints Markdown: median fit time, its ratio to FastTree's, test R².
/// </summary>
public static class TaxiFareFit
{
    public static void Run(int rounds)
    {
        TorchSharp.torch.set_num_threads(2);
        var ml = new MLContext(seed: 1);
        var path = BenchmarkData.SharedDataPath("taxi-fare-train.csv") ?? throw new FileNotFoundException("taxi-fare-train.csv not found in ../shared/data next to the checkout.");
        var data = ml.Data.LoadFromTextFile(path, new[]
        {
            new TextLoader.Column("VendorId", DataKind.String, 0), new TextLoader.Column("RateCode", DataKind.String, 1),
            new TextLoader.Column("PassengerCount", DataKind.Single, 2), new TextLoader.Column("TripTime", DataKind.Single, 3),
            new TextLoader.Column("TripDistance", DataKind.Single, 4), new TextLoader.Column("PaymentType", DataKind.String, 5),
            new TextLoader.Column("FareAmount", DataKind.Single, 6),
        }, separatorChar: ',', hasHeader: true);
        var split = ml.Data.TrainTestSplit(data, 0.2, seed: 1);
        var featurize = ml.Transforms.CopyColumns("Label", "FareAmount")
            .Append(ml.Transforms.Categorical.OneHotEncoding("VendorIdEncoded", "VendorId"))
            .Append(ml.Transforms.Categorical.OneHotEncoding("RateCodeEncoded", "RateCode"))
            .Append(ml.Transforms.Categorical.OneHotEncoding("PaymentTypeEncoded", "PaymentType"))
            .Append(ml.Transforms.Concatenate("Features", "VendorIdEncoded", "RateCodeEncoded", "PaymentTypeEncoded", "PassengerCount", "TripTime", "TripDistance"))
            .Append(ml.Transforms.NormalizeMeanVariance("Features"))
            .Fit(split.TrainSet);
        var train = ml.Data.Cache(featurize.Transform(split.TrainSet));
        var test = featurize.Transform(split.TestSet);
        var rows = (int)(train.GetRowCount() ?? train.Preview(int.MaxValue).RowView.Length);
        var batch = TorchMlpOptions.AutomaticBatchSize(rows);
        var lr = TorchMlpOptions.AutomaticLearningRate(batch);
        var trainers = new (string Name, Func<IEstimator<ITransformer>> Make)[]
        {
            ("FastTree (defaults)", () => ml.Regression.Trainers.FastTree()),
            ("SDCA (defaults)", () => ml.Regression.Trainers.Sdca()),
            (FormattableString.Invariant($"TorchMlp (defaults: {batch:N0} rows a step, lr {lr:0.0e-0} annealed over the last 30 %)"), () => ml.Regression.Trainers.TorchMlp(seed: 1)),
            (FormattableString.Invariant($"TorchMlp (defaults, constant lr {lr:0.0e-0})"), () => ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Seed = 1, LearningRateSchedule = LearningRateSchedule.Constant })),
            ("TorchMlp (previous defaults: 512 rows a step, constant lr 2.8e-3)", () => ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Seed = 1, BatchSize = 512, LearningRate = TorchMlpOptions.AutomaticLearningRate(512), LearningRateSchedule = LearningRateSchedule.Constant })),
        };
        var times = trainers.Select(_ => new List<double>()).ToArray();
        var r2 = new double[trainers.Length];
        for (int r = -1; r < rounds; r++)   // round -1 warms up the JIT and libtorch and is not counted
            for (int k = 0; k < trainers.Length; k++)
            {
                int i = (k + Math.Max(r, 0)) % trainers.Length;
                Console.Error.WriteLine($"round {r}: {trainers[i].Name}");
                var clock = Stopwatch.StartNew();
                var model = trainers[i].Make().Fit(train);
                if (r >= 0) times[i].Add(clock.Elapsed.TotalSeconds);
                r2[i] = ml.Regression.Evaluate(model.Transform(test)).RSquared;
            }
        double fastTree = Interleaved.Median(times[0]);
        Console.WriteLine("| trainer | fit (median) | vs FastTree | test R² |");
        Console.WriteLine("|---|---:|---:|---:|");
        for (int i = 0; i < trainers.Length; i++)
        {
            double t = Interleaved.Median(times[i]);
            Console.WriteLine(FormattableString.Invariant($"| {trainers[i].Name} | {t:F2} s | {t / fastTree:F2}× | {r2[i]:F4} |"));
        }
        Console.WriteLine();
        Console.WriteLine(FormattableString.Invariant($"taxi-fare-train.csv, 80/20 split (seed 1), {rounds} interleaved rounds after one warm-up round; fit time of the trainer alone on the cached, featurised training view; threads: 2."));
    }
}
