using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Models;

/// <summary>
/// A deep sigmoid MLP written the way many users write a custom Module: the output head declared on the first line,
/// the body a ModuleList, <c>functional.sigmoid</c> between layers and <c>.forward()</c> calls, so declaration order
/// (head first) is the opposite of data flow (head last) and no hook fires below the model itself.
/// </summary>
public sealed class HeadFirstSigmoidNet : Module<Tensor, Tensor>
{
    private readonly Linear head;
    private readonly ModuleList<Module<Tensor, Tensor>> body = new();

    /// <summary><paramref name="depth"/> hidden Linear layers of <paramref name="width"/> units.</summary>
    public HeadFirstSigmoidNet(int input, int width, int depth, int classes) : base(nameof(HeadFirstSigmoidNet))
    {
        head = Linear(width, classes);
        for (int i = 0; i < depth; i++) body.Add(Linear(i == 0 ? input : width, width));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        foreach (var layer in body) x = functional.sigmoid(layer.forward(x));
        return head.forward(x);
    }
}

/// <summary>
/// A six-layer sigmoid MLP whose fields are declared last layer first (fc6 … fc1) and called in one nested expression, so
/// that the IL loads fc6 first and calls it last: declaration order and load order are both the reverse of data flow.
/// </summary>
public sealed class ReversedSigmoidNet : Module<Tensor, Tensor>
{
    private readonly Linear fc6 = Linear(32, 10);
    private readonly Linear fc5 = Linear(32, 32);
    private readonly Linear fc4 = Linear(32, 32);
    private readonly Linear fc3 = Linear(32, 32);
    private readonly Linear fc2 = Linear(32, 32);
    private readonly Linear fc1 = Linear(64, 32);

    /// <summary>Creates the model with TorchSharp's default initialisation.</summary>
    public ReversedSigmoidNet() : base(nameof(ReversedSigmoidNet)) => RegisterComponents();

    /// <inheritdoc />
    public override Tensor forward(Tensor x) =>
        fc6.forward(fc5.forward(fc4.forward(fc3.forward(fc2.forward(fc1.forward(x).sigmoid()).sigmoid()).sigmoid()).sigmoid()).sigmoid());
}
