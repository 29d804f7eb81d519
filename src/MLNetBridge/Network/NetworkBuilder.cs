using GradientHooks.Initialization;
using GradientHooks.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.MLNet.Network;

/// <summary>Builds the TorchSharp network a TorchMlp trains: <c>fcN → [fcN_bn] → actN</c> per hidden layer, then <c>out</c>.</summary>
internal static class NetworkBuilder
{
    /// <summary>
    /// The Sequential for <paramref name="inputs"/> features, the given hidden widths and <paramref name="outputs"/>
    /// output units, with <paramref name="activation"/> after each hidden layer and, if asked, a BatchNorm1d between
    /// each hidden Linear and its activation (inserted by <see cref="Normalization.InsertBatchNorm(Sequential, NormalizationKind)"/>).
    /// Weights are initialised by <see cref="Init.Apply"/> with <paramref name="scheme"/>.
    /// </summary>
    public static Sequential Build(int inputs, IReadOnlyList<int> hidden, int outputs, Activation activation, bool batchNorm, InitScheme scheme)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        var previous = inputs;
        for (var i = 0; i < hidden.Count; i++)
        {
            layers.Add(($"fc{i + 1}", nn.Linear(previous, hidden[i])));
            if (CreateActivation(activation) is { } act) layers.Add(($"act{i + 1}", act));
            previous = hidden[i];
        }
        layers.Add(("out", nn.Linear(previous, outputs)));
        var model = nn.Sequential(layers);
        if (batchNorm)
        {
            var normalized = Normalization.InsertBatchNorm(model);
            if (!ReferenceEquals(normalized, model)) model = normalized;
        }
        Init.Apply(model, scheme);
        return model;
    }

    /// <summary>The module for an activation, with PyTorch's defaults (LeakyReLU slope 0.01, ELU α 1, exact GELU); none for Linear.</summary>
    public static nn.Module<Tensor, Tensor>? CreateActivation(Activation activation) => activation switch
    {
        Activation.Linear => null,
        Activation.ReLU => nn.ReLU(),
        Activation.LeakyReLU => nn.LeakyReLU(0.01),
        Activation.ELU => nn.ELU(),
        Activation.SELU => nn.SELU(),
        Activation.GELU => nn.GELU(),
        Activation.Sigmoid => nn.Sigmoid(),
        Activation.Tanh => nn.Tanh(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation"),
    };
}
