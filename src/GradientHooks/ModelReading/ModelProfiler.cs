using GradientHooks.Capture;
using GradientHooks.Clipping;
using GradientHooks.Hooks;
using GradientHooks.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.ModelReading;

/// <summary>Reads the model's structure once at attach (activation and normalisation modules, Linear/Conv weight scales) for <see cref="ModelProfile"/>.</summary>
internal static class ModelProfiler
{
    public static ModelProfile Profile(Module model, IReadOnlyList<UnitLayer> units, IReadOnlyList<Parameter> parameters, IReadOnlySet<string> hooked)
    {
        var activations = new List<ActivationModule>();
        var norms = new List<string>();
        bool recurrent = false;
        foreach (var (path, module) in model.named_modules())
        {
            var kind = ActivationModules.Classify(module, out _);
            if (kind is not null)
            {
                var type = module.GetType().Name;
                ActivationFamily? family = ActivationTracker.FamilyOf(type);
                activations.Add(new ActivationModule(path, type, kind.Value, family, hooked.Contains(path), false));
            }
            if (module is BatchNorm1d or BatchNorm2d or BatchNorm3d or LayerNorm or GroupNorm or InstanceNorm1d or InstanceNorm2d or InstanceNorm3d) norms.Add(path);
            if (module is RNN or LSTM or GRU) recurrent = true;
        }
        var scales = new List<LayerScale>();
        using (torch.no_grad())
        using (torch.NewDisposeScope())
            foreach (var u in units)
            {
                var w = parameters[u.Weight];
                double meanSquare = w.detach().to_type(ScalarType.Float64).square().mean().item<double>();
                scales.Add(new LayerScale(u.Path, u.Module, u.Units, u.RowLength, Math.Sqrt(u.RowLength * meanSquare)));
            }
        return new ModelProfile
        {
            ModelType = model.GetType().Name,
            IsSequential = model is Sequential,
            Activations = activations,
            FunctionalActivations = ForwardScanner.Scan(model).Select(c => new FunctionalActivation(c.Method, c.Function, c.Activation, c.Count)).ToList(),
            Normalization = norms,
            Layers = scales,
            Recurrent = recurrent,
        };
    }

    /// <summary>True when <paramref name="policy"/> (or a policy of its chain) bounds the gradients rather than only skipping non-finite steps.</summary>
    public static bool ClipsGradients(IClippingPolicy? policy) => policy switch
    {
        null => false,
        ChainedClipping chain => chain.Policies.Any(ClipsGradients),
        SkipNonFiniteGuard => false,
        _ => true,
    };
}
