using GradientHooks.Corpus.Data;
using GradientHooks.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Runs;

/// <summary>Runs broken by their data.</summary>
public static class FaultRuns
{
    /// <summary>
    /// breast-cancer.txt read by hand, '?' parsed as NaN and not replaced, into a Sequential MLP with Adam: the first
    /// batch holding a missing value makes every gradient NaN, and Adam then writes NaN into the weights.
    /// </summary>
    public static CorpusRun NaNInput() => new("breast-cancer-nan-input", "breast-cancer (16 missing values read as NaN)", "Sequential Linear-ReLU-Linear-ReLU-Linear",
        "Adam lr 1e-3, missing values not replaced", FindingKind.NonFiniteGradients, new[] { "fc1.weight" },
        new[] { FindingKind.LossOscillation, FindingKind.LossPlateau }, new[] { "breast-cancer.txt" }, () =>
        {
            torch.manual_seed(2);
            var (x, y) = BreastCancer.Load();
            var model = Sequential(("fc1", Linear(9, 32)), ("relu1", ReLU()), ("fc2", Linear(32, 32)), ("relu2", ReLU()), ("out", Linear(32, 1)));
            return SupervisedLoop.Train(model, x, y, (o, t) => functional.binary_cross_entropy_with_logits(o, t),
                p => optim.Adam(p, 1e-3), epochs: 5, batchSize: 32, clipping: null, seed: 2,
                m =>
                {
                    using var noGrad = torch.no_grad();
                    using var scope = torch.NewDisposeScope();
                    var finite = m.parameters().All(p => p.isfinite().all().item<bool>());
                    return finite ? "weights finite" : "weights NaN";
                });
        });
}
