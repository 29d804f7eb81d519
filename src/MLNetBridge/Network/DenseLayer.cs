using GradientHooks.Initialization;

namespace GradientHooks.MLNet.Network;

/// <summary>
/// One scoring layer: y = act(W x + b) with W stored row-major (<see cref="Outputs"/> × <see cref="Inputs"/>).
/// A BatchNorm that followed the Linear in training is already folded in (see <see cref="NetworkExport"/>).
/// </summary>
internal sealed class DenseLayer
{
    public DenseLayer(int inputs, int outputs, float[] weight, float[] bias, Activation activation)
    {
        if (weight.Length != inputs * outputs) throw new ArgumentException($"weight has {weight.Length} values; expected {outputs}×{inputs}.", nameof(weight));
        if (bias.Length != outputs) throw new ArgumentException($"bias has {bias.Length} values; expected {outputs}.", nameof(bias));
        Inputs = inputs;
        Outputs = outputs;
        Weight = weight;
        Bias = bias;
        Activation = activation;
    }

    public int Inputs { get; }
    public int Outputs { get; }
    public float[] Weight { get; }
    public float[] Bias { get; }
    public Activation Activation { get; }

    /// <summary>y[o] = act(Σᵢ W[o,i] x[i] + b[o]).</summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        var w = Weight.AsSpan();
        for (var o = 0; o < Outputs; o++)
        {
            var z = Bias[o] + System.Numerics.Tensors.TensorPrimitives.Dot(w.Slice(o * Inputs, Inputs), x);
            y[o] = ScoringActivations.Apply(Activation, z);
        }
    }
}
