using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Models;

/// <summary>
/// A CNN for 8×8 digits written the way the TorchSharp examples write their MNIST model: layers and activations
/// as fields registered by <c>RegisterComponents</c>, and <c>forward</c> calling each one's <c>forward</c>
/// directly, so no forward hook ever fires.
/// </summary>
public sealed class DigitCnn : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> conv1 = Conv2d(1, 16, 3);
    private readonly Module<Tensor, Tensor> conv2 = Conv2d(16, 32, 3);
    private readonly Module<Tensor, Tensor> fc1 = Linear(32 * 2 * 2, 64);
    private readonly Module<Tensor, Tensor> fc2 = Linear(64, 10);
    private readonly Module<Tensor, Tensor> pool = MaxPool2d(kernel_size: new long[] { 2, 2 });
    private readonly Module<Tensor, Tensor> relu1 = ReLU();
    private readonly Module<Tensor, Tensor> relu2 = ReLU();
    private readonly Module<Tensor, Tensor> relu3 = ReLU();
    private readonly Module<Tensor, Tensor> dropout = Dropout(0.25);
    private readonly Module<Tensor, Tensor> flatten = Flatten();

    /// <summary>Creates the model with TorchSharp's default initialisation.</summary>
    public DigitCnn() : base(nameof(DigitCnn)) => RegisterComponents();

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var x = relu1.forward(conv1.forward(input));
        x = relu2.forward(conv2.forward(x));
        x = dropout.forward(pool.forward(x));
        x = relu3.forward(fc1.forward(flatten.forward(x)));
        return fc2.forward(x);
    }
}
