using GradientHooks.Initialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.ModelReading;

/// <summary>Maps TorchSharp activation modules to <see cref="Activation"/> and back.</summary>
internal static class ActivationModules
{
    /// <summary>The activation a module computes, or null when it is not an activation module.</summary>
    public static Activation? Classify(Module module, out double? parameter)
    {
        parameter = null;
        switch (module)
        {
            case ReLU: case ReLU6: return Activation.ReLU;
            case LeakyReLU leaky: parameter = leaky.negative_slope; return Activation.LeakyReLU;
            case ELU: return Activation.ELU;
            case SELU: return Activation.SELU;
            case GELU: return Activation.GELU;
            case Sigmoid: return Activation.Sigmoid;
            case Tanh: return Activation.Tanh;
            default: return null;
        }
    }

    /// <summary>A new module computing <paramref name="activation"/>.</summary>
    public static nn.Module<Tensor, Tensor> Create(Activation activation, double? parameter = null) => activation switch
    {
        Activation.ReLU => nn.ReLU(),
        Activation.LeakyReLU => nn.LeakyReLU(parameter ?? 0.01),
        Activation.ELU => nn.ELU(parameter ?? 1.0),
        Activation.SELU => nn.SELU(),
        Activation.GELU => nn.GELU(),
        Activation.Sigmoid => nn.Sigmoid(),
        Activation.Tanh => nn.Tanh(),
        _ => nn.Identity(),
    };

    /// <summary>Modules that pass shape through and may sit between a layer and its activation.</summary>
    public static bool IsTransparent(Module module) =>
        module is Dropout or AlphaDropout or BatchNorm1d or BatchNorm2d or LayerNorm or Identity;
}
