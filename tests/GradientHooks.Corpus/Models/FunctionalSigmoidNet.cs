using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Models;

/// <summary>
/// A deep MLP kept in a <c>ModuleList</c> with the activation applied functionally
/// (<c>functional.sigmoid</c>) between layers: no activation module exists for a hook to see.
/// </summary>
public sealed class FunctionalSigmoidNet : Module<Tensor, Tensor>
{
    private readonly ModuleList<Module<Tensor, Tensor>> layers = new();

    /// <summary><paramref name="depth"/> Linear layers of <paramref name="width"/> units between input and output.</summary>
    public FunctionalSigmoidNet(int input, int width, int depth, int classes) : base(nameof(FunctionalSigmoidNet))
    {
        for (int i = 0; i < depth; i++) layers.Add(Linear(i == 0 ? input : width, width));
        layers.Add(Linear(width, classes));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        for (int i = 0; i < layers.Count - 1; i++) x = functional.sigmoid(layers[i].forward(x));
        return layers[layers.Count - 1].forward(x);
    }
}
