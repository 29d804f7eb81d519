using GradientHooks.Clipping;
using Microsoft.ML;

namespace GradientHooks.MLNet;

/// <summary>
/// <c>TorchMlp</c> on ML.NET's trainer catalogs: a TorchSharp multilayer perceptron trained with gradient
/// monitoring, a non-finite guard and optional clipping. Two overloads each, as ML.NET's trainers have: the common
/// arguments with defaults, and one taking <see cref="TorchMlpOptions"/> for everything.
/// </summary>
public static class TorchMlpCatalog
{
    /// <summary>Regression. Label: Single; Features: known-size vector of Single. Output: <c>Score</c> (Single).</summary>
    public static TorchMlpEstimator TorchMlp(this RegressionCatalog.RegressionTrainers catalog, TorchMlpOptions options) =>
        Create(catalog, TorchMlpTask.Regression, options);

    /// <summary>Regression with the common arguments; see <see cref="TorchMlpOptions"/> for their meaning and the rest (<paramref name="learningRate"/> 0: scaled with the batch size).</summary>
    public static TorchMlpEstimator TorchMlp(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = "Label", string featureColumnName = "Features", int[]? hiddenLayers = null,
        int epochs = 20, double learningRate = 0, IClippingPolicy? clipping = null, int? seed = null) =>
        Create(catalog, TorchMlpTask.Regression, Options(labelColumnName, featureColumnName, hiddenLayers, epochs, learningRate, clipping, seed));

    /// <summary>Binary classification. Label: Boolean; Features: known-size vector of Single. Output: <c>Score</c>
    /// (the logit), <c>Probability</c> (σ(Score)), <c>PredictedLabel</c> (Boolean).</summary>
    public static TorchMlpEstimator TorchMlp(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog, TorchMlpOptions options) =>
        Create(catalog, TorchMlpTask.BinaryClassification, options);

    /// <summary>Binary classification with the common arguments; see <see cref="TorchMlpOptions"/>.</summary>
    public static TorchMlpEstimator TorchMlp(this BinaryClassificationCatalog.BinaryClassificationTrainers catalog,
        string labelColumnName = "Label", string featureColumnName = "Features", int[]? hiddenLayers = null,
        int epochs = 20, double learningRate = 0, IClippingPolicy? clipping = null, int? seed = null) =>
        Create(catalog, TorchMlpTask.BinaryClassification, Options(labelColumnName, featureColumnName, hiddenLayers, epochs, learningRate, clipping, seed));

    /// <summary>Multiclass classification. Label: a key type (use <c>MapValueToKey</c>); Features: known-size vector of
    /// Single. Output: <c>Score</c> (softmax probabilities, Vector&lt;Single, K&gt;) and <c>PredictedLabel</c> (the label's key type).</summary>
    public static TorchMlpEstimator TorchMlp(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, TorchMlpOptions options) =>
        Create(catalog, TorchMlpTask.MulticlassClassification, options);

    /// <summary>Multiclass classification with the common arguments; see <see cref="TorchMlpOptions"/>.</summary>
    public static TorchMlpEstimator TorchMlp(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string featureColumnName = "Features", int[]? hiddenLayers = null,
        int epochs = 20, double learningRate = 0, IClippingPolicy? clipping = null, int? seed = null) =>
        Create(catalog, TorchMlpTask.MulticlassClassification, Options(labelColumnName, featureColumnName, hiddenLayers, epochs, learningRate, clipping, seed));

    private static TorchMlpEstimator Create(object catalog, TorchMlpTask task, TorchMlpOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new TorchMlpEstimator(task, options);
    }

    private static TorchMlpOptions Options(string label, string features, int[]? hidden, int epochs, double learningRate, IClippingPolicy? clipping, int? seed) => new()
    {
        LabelColumnName = label,
        FeatureColumnName = features,
        HiddenLayers = hidden ?? new[] { 64, 64 },
        Epochs = epochs,
        LearningRate = learningRate,
        Clipping = clipping,
        Seed = seed,
    };
}
