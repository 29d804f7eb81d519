using GradientHooks.Clipping;
using GradientHooks.Corpus.Data;
using GradientHooks.Corpus.Models;
using GradientHooks.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Runs;

/// <summary>Runs on optdigits (3,823 training images of 8×8 digits).</summary>
public static class DigitRuns
{
    private static readonly string[] Files = { "optdigits-train.csv", "optdigits-test.csv" };

    /// <summary>The CNN of the TorchSharp examples' shape (custom Module, layers in fields, <c>.forward()</c> calls), Adam at 1e-3: healthy.</summary>
    public static CorpusRun Cnn() => new("optdigits-cnn", "optdigits", "custom Module CNN, fields + .forward()", "Adam lr 1e-3, 3 epochs",
        null, Array.Empty<string>(), Array.Empty<FindingKind>(), Files, () => TrainCnn(1e-3, HealthyGuard.With(null)));

    /// <summary>The same CNN with Adam at lr 0.5: the ReLUs die within a few steps and conv1, conv2, fc1 get exactly zero gradients.</summary>
    public static CorpusRun CnnLearningRateTooHigh() => new("optdigits-cnn-lr0.5", "optdigits", "custom Module CNN, fields + .forward()", "Adam lr 0.5 (kills the ReLUs)",
        FindingKind.DyingRelu, new[] { "conv1", "conv2", "fc1" }, new[] { FindingKind.LossPlateau, FindingKind.LossOscillation, FindingKind.ExplodingGradients }, Files, () => TrainCnn(0.5, null));

    /// <summary>A 12-layer MLP in a ModuleList with <c>functional.sigmoid</c> between layers, SGD: vanishing.</summary>
    public static CorpusRun DeepFunctionalSigmoid() => new("optdigits-deep-sigmoid", "optdigits", "ModuleList of 12 Linear, functional.sigmoid", "SGD lr 0.1, default init",
        FindingKind.VanishingGradients, new[] { "layers.0" }, new[] { FindingKind.LossPlateau }, Files, () =>
        {
            torch.manual_seed(11);
            var (images, labels) = OptDigits.Load();
            var x = images.reshape(-1, 64);
            var model = new FunctionalSigmoidNet(64, 32, 12, 10);
            var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
            return SupervisedLoop.Train(model, x, labels, (o, t) => functional.cross_entropy(o, t),
                p => optim.SGD(p, 0.1), epochs: 2, batchSize: 64, clipping: null, seed: 11,
                m => SupervisedLoop.Accuracy(m, testImages.reshape(-1, 64), testLabels));
        });

    /// <summary>
    /// A 10-layer ReLU MLP (Sequential) whose default-initialised weights were multiplied by 4, as a "bigger init"
    /// mistake: every layer amplifies the backward signal ×1.6, so the input layers' gradients are ~100× the output's.
    /// </summary>
    public static CorpusRun WeightsTimesFour() => new("optdigits-weights-x4", "optdigits", "Sequential 10 × Linear(64) + ReLU", "default init × 4, SGD lr 0.01",
        FindingKind.ExplodingGradients, new[] { "0" }, new[] { FindingKind.NonFiniteGradients, FindingKind.LossOscillation }, Files, () =>
        {
            torch.manual_seed(5);
            var (images, labels) = OptDigits.Load();
            var layers = new List<Module<Tensor, Tensor>>();
            for (int i = 0; i < 10; i++) { layers.Add(Linear(64, 64)); layers.Add(ReLU()); }
            layers.Add(Linear(64, 10));
            var model = Sequential(layers);
            using (torch.no_grad())
                foreach (var (name, p) in model.named_parameters())
                    if (name.EndsWith("weight", StringComparison.Ordinal)) p.mul_(4);
            var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
            return SupervisedLoop.Train(model, images.reshape(-1, 64), labels, (o, t) => functional.cross_entropy(o, t),
                p => optim.SGD(p, 0.01), epochs: 1, batchSize: 64, clipping: null, seed: 5,
                m => SupervisedLoop.Accuracy(m, testImages.reshape(-1, 64), testLabels));
        });

    private static RunOutcome TrainCnn(double learningRate, IClippingPolicy? clipping)
    {
        torch.manual_seed(3);
        var (images, labels) = OptDigits.Load();
        var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
        var model = new DigitCnn();
        return SupervisedLoop.Train(model, images, labels, (o, t) => functional.cross_entropy(o, t),
            p => optim.Adam(p, learningRate), epochs: 3, batchSize: 64, clipping, seed: 3,
            m => SupervisedLoop.Accuracy(m, testImages, testLabels));
    }
}
