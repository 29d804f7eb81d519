using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Guard;

/// <summary>
/// The ε an adaptive optimizer adds to √v in its denominator, m̂ / (√v̂ + ε) (Adam, AdamW, RMSprop, Adagrad; TorchSharp's
/// defaults are 1e-8 for Adam and AdamW, 1e-8 for RMSprop, 1e-10 for Adagrad), read from its first parameter group;
/// null for optimizers without one (SGD). Held in float16, an ε below 2⁻²⁵ rounds to 0, and a parameter whose gradient
/// and second moment are 0 is then updated by 0/0 = NaN.
/// </summary>
internal static class OptimizerEpsilon
{
    public static double? Of(optim.Optimizer optimizer) => optimizer.ParamGroups.FirstOrDefault() switch
    {
        Adam.ParamGroup g => g.Options.eps ?? 1e-8,
        AdamW.ParamGroup g => g.Options.eps ?? 1e-8,
        RMSProp.ParamGroup g => g.Options.eps ?? 1e-8,
        Adagrad.ParamGroup g => g.Options.eps ?? 1e-10,
        _ => null,
    };
}
