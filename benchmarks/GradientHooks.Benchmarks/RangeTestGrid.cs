using System.Diagnostics;
using System.Globalization;
using GradientHooks.Corpus.Data;
using GradientHooks.Corpus.Models;
using GradientHooks.Corpus.Runs;
using GradientHooks.MLNet;
using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Benchmarks;

/// <summary>
/// Does the range test's suggestion train as well as the best of a grid of rates? On the corpus's two real models:
/// optdigits' DigitCnn (Adam, 3 epochs of 64-row batches, seed 3; test accuracy on optdigits-test.csv) and taxi-fare's
/// TorchMlp (its defaults, seed 1; test R² on the 20 % split). For each: the range test (100 steps, 1e-7 → 10) on a
/// fresh model and the training batches, then a fit at the suggestion and a fit at each grid rate from the same start.
/// Prints Markdown: each rate's metric, the best, and the suggestion's ratio to it (the issue's bar: within 2 %).
/// </summary>
public static class RangeTestGrid
{
    private static readonly double[] Grid = { 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1 };

    public static int Run()
    {
        torch.set_num_threads(2);
        Console.WriteLine($"Range test against a grid of rates ({DateTime.UtcNow:yyyy-MM-dd}, CPU, 2 threads; `dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- lr-grid`)");
        Console.WriteLine();
        bool digits = Report("optdigits DigitCnn, Adam, 3 epochs (test accuracy)", DigitSweep(), DigitAccuracy);
        bool taxi = Report("taxi-fare TorchMlp defaults, 20 epochs (test R²)", TaxiSweep(out var fitTaxi), fitTaxi);
        return digits && taxi ? 0 : 1;
    }

    private static bool Report(string title, LearningRateSweep sweep, Func<double, double> fit)
    {
        Console.Error.WriteLine($"{title}: {sweep}");
        var clock = Stopwatch.StartNew();
        double suggested = fit(sweep.Suggested ?? throw new InvalidOperationException($"{title}: the range test suggested nothing: {sweep}"));
        var grid = Grid.Select(rate => (Rate: rate, Metric: fit(rate))).ToList();
        var best = grid.MaxBy(g => g.Metric);
        double ratio = suggested / best.Metric;
        Console.WriteLine($"### {title}");
        Console.WriteLine();
        Console.WriteLine($"Range test: {sweep}.");
        Console.WriteLine();
        Console.WriteLine("| learning rate | metric |");
        Console.WriteLine("|---|---|");
        foreach (var (rate, metric) in grid.Append((sweep.Suggested!.Value, suggested)).OrderBy(g => g.Item1))
            Console.WriteLine(FormattableString.Invariant($"| {LearningRateSweep.Format(rate)}{(rate == sweep.Suggested ? " (suggested)" : "")}{(rate == best.Rate ? " (best of grid)" : "")} | {metric:0.0000} |"));
        Console.WriteLine();
        Console.WriteLine(FormattableString.Invariant($"Suggested {LearningRateSweep.Format(sweep.Suggested.Value)}: {suggested:0.0000}, best of the grid {LearningRateSweep.Format(best.Rate)}: {best.Metric:0.0000}, ratio {ratio:0.000} ({(ratio >= 0.98 ? "within 2 %" : "NOT within 2 %")}); {clock.Elapsed.TotalSeconds:0} s of fits."));
        Console.WriteLine();
        return ratio >= 0.98;
    }

    // ---- optdigits ---------------------------------------------------------------------------------

    private static (Tensor X, Tensor Y, Tensor TestX, Tensor TestY)? _digits;

    private static (Tensor X, Tensor Y, Tensor TestX, Tensor TestY) Digits()
    {
        if (_digits is { } d) return d;
        var (x, y) = OptDigits.Load();
        var (tx, ty) = OptDigits.Load("optdigits-test.csv");
        _digits = (x, y, tx, ty);
        return _digits.Value;
    }

    private static LearningRateSweep DigitSweep()
    {
        var (x, y, _, _) = Digits();
        torch.manual_seed(3);
        var model = new DigitCnn();
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        var order = torch.randperm(x.shape[0]);
        long next = 0;
        model.train();
        return LearningRateFinder.Run(model, optimizer, () =>
        {
            if (next + 64 > x.shape[0]) next = 0;
            var index = order.narrow(0, next, 64);
            next += 64;
            return functional.cross_entropy(model.call(x.index_select(0, index)), y.index_select(0, index));
        });
    }

    private static double DigitAccuracy(double rate)
    {
        var (x, y, tx, ty) = Digits();
        torch.manual_seed(3);
        var model = new DigitCnn();
        var optimizer = optim.Adam(model.parameters(), rate);
        long rows = x.shape[0];
        for (int epoch = 0; epoch < 3; epoch++)
        {
            model.train();
            using var epochScope = torch.NewDisposeScope();
            var order = torch.randperm(rows);
            for (long start = 0; start < rows; start += 64)
            {
                using var scope = torch.NewDisposeScope();
                var index = order.narrow(0, start, Math.Min(64, rows - start));
                optimizer.zero_grad();
                functional.cross_entropy(model.call(x.index_select(0, index)), y.index_select(0, index)).backward();
                optimizer.step();
            }
        }
        model.eval();
        using var noGrad = torch.no_grad();
        using var evalScope = torch.NewDisposeScope();
        var correct = model.call(tx).argmax(1).eq(ty).sum().item<long>();
        return (double)correct / ty.shape[0];
    }

    // ---- taxi-fare ---------------------------------------------------------------------------------

    private static LearningRateSweep TaxiSweep(out Func<double, double> fit)
    {
        var ml = new MLContext(seed: 1);
        var (train, test, featurize) = MLNetRuns.TaxiFareData(ml, normalize: true);
        var transform = featurize.Fit(train);
        var trainSet = ml.Data.Cache(transform.Transform(train));
        var testSet = transform.Transform(test);
        var found = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Seed = 1, LearningRate = TorchMlpOptions.FindLearningRate }).Fit(trainSet);
        double foundR2 = ml.Regression.Evaluate(found.Transform(testSet)).RSquared;
        var sweep = found.LearningRateSweep!;
        fit = rate => rate == sweep.Suggested
            ? foundR2   // the fit TorchMlp made at its own suggestion, from the same seed
            : ml.Regression.Evaluate(ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Seed = 1, LearningRate = rate }).Fit(trainSet).Transform(testSet)).RSquared;
        return sweep;
    }
}
