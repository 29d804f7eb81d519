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

    /// <summary>
    /// The same CNN with Adam at lr 0.5: the first update moves the weights by more than their own size, the gradients
    /// burst, and within a few steps the ReLUs die and conv1, conv2, fc1 get exactly zero gradients. Root cause: the
    /// learning rate; dead units follow.
    /// </summary>
    public static CorpusRun CnnLearningRateTooHigh() => new("optdigits-cnn-lr0.5", "optdigits", "custom Module CNN, fields + .forward()", "Adam lr 0.5 (kills the ReLUs)",
        FindingKind.LearningRateTooHigh, new[] { "conv1", "conv2", "fc1" }, new[] { FindingKind.LossPlateau, FindingKind.LossOscillation, FindingKind.ExplodingGradients }, Files, () => TrainCnn(0.5, null))
        { Also = new[] { FindingKind.DyingRelu } };

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

    /// <summary>
    /// A 12-layer functional-sigmoid body in a custom Module that declares its head first (<see cref="HeadFirstSigmoidNet"/>):
    /// the first body layer's gradients are 1e−10 of the last's. In declaration order the head would be "first".
    /// </summary>
    public static CorpusRun HeadFirstSigmoid() => new("optdigits-head-first-sigmoid", "optdigits", "custom Module, head declared first, ModuleList body, functional.sigmoid, .forward()", "SGD lr 0.1, default init",
        FindingKind.VanishingGradients, new[] { "body.0" }, new[] { FindingKind.LossPlateau }, Files, () =>
        {
            torch.manual_seed(11);
            var (images, labels) = OptDigits.Load();
            var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
            return SupervisedLoop.Train(new HeadFirstSigmoidNet(64, 32, 12, 10), images.reshape(-1, 64), labels, (o, t) => functional.cross_entropy(o, t),
                p => optim.SGD(p, 0.1), epochs: 2, batchSize: 64, clipping: null, seed: 11,
                m => SupervisedLoop.Accuracy(m, testImages.reshape(-1, 64), testLabels));
        });

    /// <summary>A six-layer sigmoid MLP whose fields are declared in reverse (<see cref="ReversedSigmoidNet"/>), SGD: vanishing toward fc1.</summary>
    public static CorpusRun ReversedSigmoid() => new("optdigits-reversed-sigmoid", "optdigits", "custom Module, fields declared fc6 … fc1, nested .forward() calls", "SGD lr 0.1, default init",
        FindingKind.VanishingGradients, new[] { "fc1" }, new[] { FindingKind.LossPlateau }, Files, () =>
        {
            torch.manual_seed(12);
            var (images, labels) = OptDigits.Load();
            var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
            return SupervisedLoop.Train(new ReversedSigmoidNet(), images.reshape(-1, 64), labels, (o, t) => functional.cross_entropy(o, t),
                p => optim.SGD(p, 0.1), epochs: 2, batchSize: 64, clipping: null, seed: 12,
                m => SupervisedLoop.Accuracy(m, testImages.reshape(-1, 64), testLabels));
        });

    /// <summary>A Sequential MLP trained by a loop that never calls zero_grad(): every step applies the sum of all gradients so far.</summary>
    public static CorpusRun NoZeroGrad() => new("optdigits-no-zero-grad", "optdigits", "Sequential Linear-ReLU-Linear-ReLU-Linear", "SGD lr 0.01, loop without zero_grad()",
        FindingKind.GradientsNotZeroed, Array.Empty<string>(),
        new[] { FindingKind.ExplodingGradients, FindingKind.LossOscillation, FindingKind.NonFiniteGradients, FindingKind.DyingRelu, FindingKind.LossPlateau, FindingKind.LearningRateTooHigh }, Files, () =>
        {
            torch.manual_seed(13);
            var (images, labels) = OptDigits.Load();
            var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
            var model = Sequential(("fc1", Linear(64, 64)), ("relu1", ReLU()), ("fc2", Linear(64, 64)), ("relu2", ReLU()), ("out", Linear(64, 10)));
            return SupervisedLoop.Train(model, images.reshape(-1, 64), labels, (o, t) => functional.cross_entropy(o, t),
                p => optim.SGD(p, 0.01), epochs: 2, batchSize: 64, clipping: null, seed: 13,
                m => SupervisedLoop.Accuracy(m, testImages.reshape(-1, 64), testLabels), zero: ZeroBy.None);
        });

    /// <summary>The same MLP and loop zeroing with <c>model.zero_grad()</c>, which the guard does not see: healthy (the gradients themselves show they are zeroed).</summary>
    public static CorpusRun ModelZeroGrad() => new("optdigits-model-zero-grad", "optdigits", "Sequential Linear-ReLU-Linear-ReLU-Linear", "SGD lr 0.1, model.zero_grad() instead of optimizer.zero_grad()",
        null, Array.Empty<string>(), Array.Empty<FindingKind>(), Files, () =>
        {
            torch.manual_seed(13);
            var (images, labels) = OptDigits.Load();
            var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
            var model = Sequential(("fc1", Linear(64, 64)), ("relu1", ReLU()), ("fc2", Linear(64, 64)), ("relu2", ReLU()), ("out", Linear(64, 10)));
            return SupervisedLoop.Train(model, images.reshape(-1, 64), labels, (o, t) => functional.cross_entropy(o, t),
                p => optim.SGD(p, 0.1), epochs: 2, batchSize: 64, HealthyGuard.With(null), seed: 13,
                m => SupervisedLoop.Accuracy(m, testImages.reshape(-1, 64), testLabels), zero: ZeroBy.Model);
        });

    /// <summary>
    /// A Sequential of Linear and nn.Tanh() modules whose weights were drawn from N(0, 1) (<c>init.normal_</c>, a common
    /// mistake): pre-activations of size 8 pin every tanh at ±1.
    /// </summary>
    public static CorpusRun TanhNormalInit() => new("optdigits-tanh-normal-init", "optdigits", "Sequential 5 × (Linear(64) + Tanh)", "weights N(0, 1), SGD lr 0.01",
        FindingKind.SaturatedActivations, new[] { "3" }, new[] { FindingKind.VanishingGradients, FindingKind.LossPlateau, FindingKind.LossOscillation }, Files, () =>
        {
            torch.manual_seed(14);
            var (images, labels) = OptDigits.Load();
            var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
            var layers = new List<Module<Tensor, Tensor>>();
            for (int i = 0; i < 5; i++) { layers.Add(Linear(64, 64)); layers.Add(Tanh()); }
            layers.Add(Linear(64, 10));
            var model = Sequential(layers);
            using (torch.no_grad())
                foreach (var (name, p) in model.named_parameters())
                    if (name.EndsWith("weight", StringComparison.Ordinal)) init.normal_(p);
            return SupervisedLoop.Train(model, images.reshape(-1, 64), labels, (o, t) => functional.cross_entropy(o, t),
                p => optim.SGD(p, 0.01), epochs: 2, batchSize: 64, clipping: null, seed: 14,
                m => SupervisedLoop.Accuracy(m, testImages.reshape(-1, 64), testLabels));
        });

    /// <summary>The CNN with its convolutions frozen (requires_grad = false, a feature extractor as users fine-tune one): healthy.</summary>
    public static CorpusRun FrozenFeatures() => new("optdigits-cnn-frozen", "optdigits", "custom Module CNN, conv1 and conv2 frozen", "Adam lr 1e-3, 3 epochs, only fc1 and fc2 train",
        null, Array.Empty<string>(), Array.Empty<FindingKind>(), Files, () =>
        {
            torch.manual_seed(3);
            var (images, labels) = OptDigits.Load();
            var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
            var model = new DigitCnn();
            foreach (var (name, p) in model.named_parameters())
                if (name.StartsWith("conv", StringComparison.Ordinal)) p.requires_grad = false;
            return SupervisedLoop.Train(model, images, labels, (o, t) => functional.cross_entropy(o, t),
                p => optim.Adam(p.Where(q => q.requires_grad), 1e-3), epochs: 3, batchSize: 64, HealthyGuard.With(null), seed: 3,
                m => SupervisedLoop.Accuracy(m, testImages, testLabels));
        });

    /// <summary>Gradient accumulation done right: each step's 64 rows in 4 micro-batches, each loss divided by 4, zero_grad() once per step.</summary>
    public static CorpusRun GradientAccumulation() => new("optdigits-accumulation", "optdigits", "Sequential Linear-ReLU-Linear-ReLU-Linear", "Adam lr 1e-3, 4 micro-batches of 16 per step",
        null, Array.Empty<string>(), Array.Empty<FindingKind>(), Files, () =>
        {
            torch.manual_seed(15);
            var (images, labels) = OptDigits.Load();
            var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
            var model = Sequential(("fc1", Linear(64, 64)), ("relu1", ReLU()), ("fc2", Linear(64, 64)), ("relu2", ReLU()), ("out", Linear(64, 10)));
            return SupervisedLoop.Train(model, images.reshape(-1, 64), labels, (o, t) => functional.cross_entropy(o, t),
                p => optim.Adam(p, 1e-3), epochs: 3, batchSize: 64, HealthyGuard.With(null), seed: 15,
                m => SupervisedLoop.Accuracy(m, testImages.reshape(-1, 64), testLabels), microBatches: 4);
        });

    /// <summary>A Sequential MLP with plain SGD at lr 1e-5: gradients flow, the weights barely move, the loss stays where it started.</summary>
    public static CorpusRun LearningRateTooLow() => new("optdigits-lr-1e-5", "optdigits", "Sequential Linear-ReLU-Linear-ReLU-Linear", "SGD lr 1e-5, 2 epochs",
        FindingKind.LearningRateTooLow, Array.Empty<string>(), Array.Empty<FindingKind>(), Files, () =>
        {
            torch.manual_seed(16);
            var (images, labels) = OptDigits.Load();
            var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
            var model = Sequential(("fc1", Linear(64, 64)), ("relu1", ReLU()), ("fc2", Linear(64, 64)), ("relu2", ReLU()), ("out", Linear(64, 10)));
            return SupervisedLoop.Train(model, images.reshape(-1, 64), labels, (o, t) => functional.cross_entropy(o, t),
                p => optim.SGD(p, 1e-5), epochs: 2, batchSize: 64, clipping: null, seed: 16,
                m => SupervisedLoop.Accuracy(m, testImages.reshape(-1, 64), testLabels));
        }) { Also = new[] { FindingKind.LossPlateau } };

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
