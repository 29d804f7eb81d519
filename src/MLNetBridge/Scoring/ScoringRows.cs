using System.ComponentModel;

namespace GradientHooks.MLNet.Scoring;

/// <summary>Input row of the TorchMlp scoring mapping; the column name and size are set per model. Public only because ML.NET's CustomMapping requires it.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class TorchMlpFeaturesRow
{
    /// <summary>The feature vector.</summary>
    public float[] Features = Array.Empty<float>();
}

/// <summary>Regression output: <c>Score</c>, the predicted value.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class TorchMlpRegressionRow
{
    /// <summary>Predicted value: raw output · label std + label mean.</summary>
    public float Score;
}

/// <summary>Binary output: <c>Score</c> (the logit), <c>Probability</c> = σ(Score), <c>PredictedLabel</c> = Score &gt; 0.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class TorchMlpBinaryRow
{
    /// <summary>The logit.</summary>
    public float Score;

    /// <summary>σ(Score).</summary>
    public float Probability;

    /// <summary>Score &gt; 0.</summary>
    public bool PredictedLabel;
}

/// <summary>Multiclass output: <c>Score</c> (softmax probabilities, one per class) and <c>PredictedLabel</c> (the arg-max class).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class TorchMlpMulticlassRow
{
    /// <summary>Softmax probabilities.</summary>
    public float[] Score = Array.Empty<float>();

    /// <summary>0-based index of the most probable class, as ML.NET expects in a row object (the column shows it as key index + 1); out of range means missing.</summary>
    public uint PredictedLabel;
}
