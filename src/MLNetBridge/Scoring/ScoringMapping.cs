using GradientHooks.MLNet.Network;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.MLNet.Scoring;

/// <summary>
/// Builds the ML.NET <c>CustomMapping</c> transformer that scores a <see cref="FittedNetwork"/> row by row in
/// managed code (no libtorch needed to score): the feature column is renamed and sized through the input schema
/// definition, and the output columns get ML.NET's conventional names and types: <c>Score</c> (regression);
/// <c>Score</c>, <c>Probability</c>, <c>PredictedLabel</c> (binary); a <c>Vector&lt;Single, K&gt;</c> <c>Score</c>
/// of softmax probabilities and a <c>Key&lt;UInt32, K&gt;</c> <c>PredictedLabel</c> with the label's class names (multiclass).
/// The mapping keeps no per-row state, so concurrent cursors are safe.
/// </summary>
internal static class ScoringMapping
{
    public static ITransformer Create(FittedNetwork fitted, MLContext ml)
    {
        var network = fitted.Network;
        var input = InputDefinition(fitted.FeatureColumnName, network.FeatureCount);
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<TorchMlpFeaturesRow>(), input);
        switch (fitted.Task)
        {
            case TorchMlpTask.Regression:
            {
                var mean = network.LabelMean;
                var scale = network.LabelScale;
                return ml.Transforms.CustomMapping<TorchMlpFeaturesRow, TorchMlpRegressionRow>((src, dst) =>
                {
                    Span<float> raw = stackalloc float[1];
                    network.Forward(src.Features, raw);
                    dst.Score = (float)(raw[0] * scale + mean);
                }, TorchMlpRegressionFactory.ContractName, input).Fit(empty);
            }
            case TorchMlpTask.BinaryClassification:
                return ml.Transforms.CustomMapping<TorchMlpFeaturesRow, TorchMlpBinaryRow>((src, dst) =>
                {
                    Span<float> raw = stackalloc float[1];
                    network.Forward(src.Features, raw);
                    dst.Score = raw[0];
                    dst.Probability = ScoringActivations.Sigmoid(raw[0]);
                    dst.PredictedLabel = raw[0] > 0;
                }, TorchMlpBinaryFactory.ContractName, input).Fit(empty);
            default:
            {
                var k = fitted.ClassCount;
                return ml.Transforms.CustomMapping<TorchMlpFeaturesRow, TorchMlpMulticlassRow>((src, dst) =>
                {
                    if (dst.Score.Length != k) dst.Score = new float[k];
                    network.Forward(src.Features, dst.Score);
                    dst.PredictedLabel = Softmax(dst.Score);
                }, TorchMlpMulticlassFactory.ContractName, input, MulticlassOutput(k, fitted.KeyValues)).Fit(empty);
            }
        }
    }

    /// <summary>
    /// The output shape of scoring, without a network: ML.NET keeps <c>SchemaShape</c>'s column constructor internal,
    /// so the shape comes from a custom-mapping estimator with the same column definitions (sizes do not show in a shape).
    /// </summary>
    public static SchemaShape OutputShape(TorchMlpTask task, string featureColumn, DataViewType? labelNameType, SchemaShape input, MLContext ml)
    {
        var features = InputDefinition(featureColumn, null);
        return task switch
        {
            TorchMlpTask.Regression => ml.Transforms.CustomMapping<TorchMlpFeaturesRow, TorchMlpRegressionRow>((_, _) => { }, null, features).GetOutputSchema(input),
            TorchMlpTask.BinaryClassification => ml.Transforms.CustomMapping<TorchMlpFeaturesRow, TorchMlpBinaryRow>((_, _) => { }, null, features).GetOutputSchema(input),
            _ => ml.Transforms.CustomMapping<TorchMlpFeaturesRow, TorchMlpMulticlassRow>((_, _) => { }, null, features,
                MulticlassOutput(2, labelNameType is null ? null : LabelKeyValues.Placeholder(labelNameType, 2))).GetOutputSchema(input),
        };
    }

    /// <summary>The feature column under the user's name; a known size when given, else any vector of Single.</summary>
    private static SchemaDefinition InputDefinition(string featureColumn, int? featureCount)
    {
        var input = SchemaDefinition.Create(typeof(TorchMlpFeaturesRow), SchemaDefinition.Direction.Both);
        input[0].ColumnName = featureColumn;
        input[0].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount ?? 0);
        return input;
    }

    /// <summary><c>Score</c> as Vector&lt;Single, K&gt;, <c>PredictedLabel</c> as Key&lt;UInt32, K&gt;, with the class names when known.</summary>
    private static SchemaDefinition MulticlassOutput(int k, LabelKeyValues? names)
    {
        var output = SchemaDefinition.Create(typeof(TorchMlpMulticlassRow), SchemaDefinition.Direction.Both);
        var score = output.Single(c => c.MemberName == nameof(TorchMlpMulticlassRow.Score));
        var predicted = output.Single(c => c.MemberName == nameof(TorchMlpMulticlassRow.PredictedLabel));
        score.ColumnType = new VectorDataViewType(NumberDataViewType.Single, k);
        predicted.ColumnType = new KeyDataViewType(typeof(uint), k);
        names?.AddTo(predicted, score);
        return output;
    }

    /// <summary>
    /// Replaces logits by softmax probabilities pᵢ = e^(zᵢ − max z) / Σⱼ e^(zⱼ − max z); returns the 0-based arg-max,
    /// or <see cref="uint.MaxValue"/> if a logit is NaN. (ML.NET reads a key field of a row object as 0-based and
    /// adds 1; a value beyond the key's range becomes the missing key 0.)
    /// </summary>
    internal static uint Softmax(Span<float> values)
    {
        var best = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (float.IsNaN(values[i]))
            {
                values.Fill(float.NaN);
                return uint.MaxValue;
            }
            if (values[i] > values[best]) best = i;
        }
        System.Numerics.Tensors.TensorPrimitives.SoftMax(values, values);
        return (uint)best;
    }
}
