using GradientHooks.Corpus.Data;
using GradientHooks.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Runs;

/// <summary>Hand-written loops on bike-sharing (13,949 hours).</summary>
public static class BikeRuns
{
    private static readonly string[] Files = { "bike-sharing-hour_train.csv", "bike-sharing-hour_test.csv" };

    /// <summary>
    /// A regression on the raw columns (hour 0–23, month 1–12, …) and the raw count of rentals (about 190 on average) with
    /// plain SGD: the first mean squared error is of the order of 1e5 and the gradients of the order of the count times
    /// the features, and within a few steps the weights overflow. Root cause: the unscaled inputs and target.
    /// </summary>
    public static CorpusRun RawSgd() => new("bike-sharing-raw-sgd", "bike-sharing hour_train/test (raw columns, raw count)", "Sequential Linear(12, 32)-ReLU-Linear(32, 1)", "SGD lr 1e-2, MSE on the raw count, no standardisation",
        FindingKind.UnscaledInputs, Array.Empty<string>(),
        new[] { FindingKind.NonFiniteGradients, FindingKind.ExplodingGradients, FindingKind.LossOscillation, FindingKind.DyingRelu, FindingKind.LearningRateTooHigh, FindingKind.LossPlateau }, Files, () =>
        {
            torch.manual_seed(21);
            var (x, y) = BikeSharing.Load();
            var (testX, testY) = BikeSharing.Load("bike-sharing-hour_test.csv");
            var model = Sequential(("fc1", Linear(12, 32)), ("relu1", ReLU()), ("out", Linear(32, 1)));
            return SupervisedLoop.Train(model, x, y, (o, t) => functional.mse_loss(o, t),
                p => optim.SGD(p, 1e-2), epochs: 1, batchSize: 64, clipping: null, seed: 21,
                m =>
                {
                    using var noGrad = torch.no_grad();
                    using var scope = torch.NewDisposeScope();
                    var error = (m.call(testX) - testY).square().mean().item<float>();
                    return float.IsFinite(error) ? FormattableString.Invariant($"test MSE {error:0.0}") : "test MSE not finite";
                });
        });
}
