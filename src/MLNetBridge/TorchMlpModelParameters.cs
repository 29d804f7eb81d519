using GradientHooks.Initialization;
using GradientHooks.MLNet.Scoring;

namespace GradientHooks.MLNet;

/// <summary>
/// The trained network of a <see cref="TorchMlpTransformer"/>, as ML.NET's trainers expose their model
/// (<c>ISingleFeaturePredictionTransformer&lt;TModel&gt;.Model</c>): task, layer sizes, activations, and each
/// layer's weights and bias (BatchNorm already folded into the Linear before it). Read-only.
/// </summary>
public sealed class TorchMlpModelParameters
{
    internal TorchMlpModelParameters(FittedNetwork fitted) => Fitted = fitted;

    internal FittedNetwork Fitted { get; }

    /// <summary>Regression, binary or multiclass classification.</summary>
    public TorchMlpTask Task => Fitted.Task;

    /// <summary>Length of the feature vector the network takes.</summary>
    public int FeatureCount => Fitted.Network.FeatureCount;

    /// <summary>Number of classes (multiclass), else 0.</summary>
    public int ClassCount => Fitted.ClassCount;

    /// <summary>Widths of the network's layers, input first: features, hidden widths, outputs.</summary>
    public IReadOnlyList<int> LayerSizes => Fitted.Network.Layers.Select(l => l.Inputs).Append(Fitted.Network.OutputCount).ToArray();

    /// <summary>Regression: the label's training mean (0 for classification).</summary>
    public double LabelMean => Fitted.Network.LabelMean;

    /// <summary>Regression: the label's training standard deviation (1 for classification).</summary>
    public double LabelScale => Fitted.Network.LabelScale;

    /// <summary>The activation after each layer (the last is <see cref="Activation.Linear"/>: the output).</summary>
    public IReadOnlyList<Activation> Activations => Fitted.Network.Layers.Select(l => l.Activation).ToArray();

    /// <summary>
    /// Layer <paramref name="layer"/>'s weights, row-major [outputs, inputs], and bias [outputs], BatchNorm folded in.
    /// A regression network's output is the standardised label: Score = output · <see cref="LabelScale"/> + <see cref="LabelMean"/>.
    /// </summary>
    public (float[] Weights, float[] Bias) GetLayer(int layer)
    {
        if (layer < 0 || layer >= Fitted.Network.Layers.Count)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"The network has layers 0 to {Fitted.Network.Layers.Count - 1}.");
        var l = Fitted.Network.Layers[layer];
        return (l.Weight.ToArray(), l.Bias.ToArray());
    }

    /// <inheritdoc />
    public override string ToString() => $"TorchMlp {Task}: {string.Join("-", LayerSizes)}";
}
