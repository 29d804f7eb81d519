namespace GradientHooks.MLNet;

/// <summary>What a <see cref="TorchMlpEstimator"/> learns, which fixes its label type, loss and output columns.</summary>
public enum TorchMlpTask
{
    /// <summary>Label <c>Single</c>; loss: mean squared error on the standardised label; output <c>Score</c> (<c>Single</c>).</summary>
    Regression,

    /// <summary>Label <c>Boolean</c>; loss: binary cross-entropy on one logit; outputs <c>Score</c> (the logit),
    /// <c>Probability</c> = σ(Score) and <c>PredictedLabel</c> = Score &gt; 0.</summary>
    BinaryClassification,

    /// <summary>Label: a key type with K values; loss: cross-entropy on K logits; outputs <c>Score</c> (a vector of K
    /// softmax probabilities) and <c>PredictedLabel</c> (a key of the label's type: the arg-max class).</summary>
    MulticlassClassification,
}
