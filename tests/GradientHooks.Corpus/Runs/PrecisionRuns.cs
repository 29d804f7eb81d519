using GradientHooks.Corpus.Data;
using GradientHooks.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Runs;

/// <summary>
/// The optdigits MLP (64-64-10, ReLU, Sequential) trained in float16 and bfloat16 on the CPU, as a TorchSharp user without
/// autocast writes it: <c>model.to(ScalarType.Float16)</c>, the input converted, and with or without GradientHooks'
/// loss scaling and float32 master weights.
/// </summary>
public static class PrecisionRuns
{
    private static readonly string[] Files = { "optdigits-train.csv", "optdigits-test.csv" };

    private const string Mlp = "Sequential Linear-ReLU-Linear-ReLU-Linear, model.to(Float16)";

    /// <summary>The mixed-precision recipe: float16 model, LossScaler, float32 master weights, Adam 1e-3: healthy (the scaler's first overflow is information).</summary>
    public static CorpusRun Float16Scaled() => new("optdigits-fp16-scaled", "optdigits", Mlp,
        "Adam lr 1e-3 on MasterWeights, LossScaler (2^16), 3 epochs",
        null, Array.Empty<string>(), Array.Empty<FindingKind>(), Files,
        () => Train(new MixedPrecision(ScalarType.Float16, LossScaling: true, MasterWeights: true), seed: 21, healthy: true));

    /// <summary>bfloat16 (float32's range) with master weights and no loss scaling: healthy.</summary>
    public static CorpusRun BFloat16() => new("optdigits-bf16", "optdigits", "Sequential Linear-ReLU-Linear-ReLU-Linear, model.to(BFloat16)",
        "Adam lr 1e-3 on MasterWeights, no loss scaling, 3 epochs",
        null, Array.Empty<string>(), Array.Empty<FindingKind>(), Files,
        () => Train(new MixedPrecision(ScalarType.BFloat16, LossScaling: false, MasterWeights: true), seed: 22, healthy: true));

    /// <summary>
    /// The cross-entropy weighted 1e-6 (an auxiliary-loss weight; harmless to Adam in float32, which rescales the
    /// gradient), float16, master weights, no loss scaling: every gradient element is below float16's smallest subnormal
    /// and rounds to 0; nothing trains.
    /// </summary>
    public static CorpusRun Float16Underflow() => new("optdigits-fp16-loss-weight", "optdigits", Mlp,
        "loss × 1e-6, Adam lr 1e-3 on MasterWeights, no loss scaling",
        FindingKind.GradientUnderflow, new[] { "fc1", "out" }, new[] { FindingKind.VanishingGradients, FindingKind.LearningRateTooLow }, Files,
        () => Train(new MixedPrecision(ScalarType.Float16, LossScaling: false, MasterWeights: true, LossWeight: 1e-6), seed: 23, healthy: false))
    {
        Also = new[] { FindingKind.LossPlateau },
    };

    /// <summary>The same weighted loss with a LossScaler: the scaled gradients are representable and the model trains (healthy).</summary>
    public static CorpusRun Float16UnderflowScaled() => new("optdigits-fp16-loss-weight-scaled", "optdigits", Mlp,
        "loss × 1e-6, Adam lr 1e-3 on MasterWeights, LossScaler (2^16)",
        null, Array.Empty<string>(), Array.Empty<FindingKind>(), Files,
        () => Train(new MixedPrecision(ScalarType.Float16, LossScaling: true, MasterWeights: true, LossWeight: 1e-6), seed: 23, healthy: true));

    /// <summary>
    /// Adam stepping the float16 parameters itself (no master weights): its ε = 1e-8 is 0 in float16, and the first
    /// update of the weights whose gradient is 0 (input pixels that are always 0) is 0/0 = NaN.
    /// </summary>
    public static CorpusRun Float16Adam() => new("optdigits-fp16-adam", "optdigits", Mlp,
        "Adam lr 1e-3 on the float16 parameters directly, no loss scaling",
        FindingKind.LowPrecisionOptimizer, new[] { "fc1" }, new[] { FindingKind.LossOscillation, FindingKind.LossPlateau }, Files,
        () => Train(new MixedPrecision(ScalarType.Float16, LossScaling: false, MasterWeights: false), seed: 24, healthy: false))
    {
        Also = new[] { FindingKind.NonFiniteGradients },
    };

    private static RunOutcome Train(MixedPrecision precision, int seed, bool healthy)
    {
        torch.manual_seed(seed);
        var (images, labels) = OptDigits.Load();
        var (testImages, testLabels) = OptDigits.Load("optdigits-test.csv");
        var model = Sequential(("fc1", Linear(64, 64)), ("relu1", ReLU()), ("fc2", Linear(64, 64)), ("relu2", ReLU()), ("out", Linear(64, 10)));
        return SupervisedLoop.Train(model, images.reshape(-1, 64), labels, (o, t) => functional.cross_entropy(o, t),
            p => optim.Adam(p, 1e-3), epochs: 3, batchSize: 64, healthy ? HealthyGuard.With(null) : null,
            seed: seed, m => SupervisedLoop.Accuracy(m, testImages.reshape(-1, 64), testLabels), precision: precision);
    }
}
