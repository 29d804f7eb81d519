using GradientHooks.Diagnostics;
using GradientHooks.Layers;
using TorchSharp.Modules;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.Corpus;

/// <summary>
/// Every remedy that changes the model must change something in the model in front of it: a swap must find the
/// activation it names (a module it replaces, or a functional call of it in forward()), an initialisation must not be
/// the one already in place, normalisation must not be there already, and "call through .call()" needs silent hooks.
/// The swap and the BatchNorm insertion are applied for real to the trained model (the run is over). Remedies that
/// change the loop (learning rate, clipping, zero_grad, standardisation) are not checked here; ML.NET runs, whose remedies
/// are trainer options, neither.
/// </summary>
public static class RemedyCheck
{
    /// <summary>What is wrong with the remedies of <paramref name="outcome"/>'s problems; empty when each changes the model.</summary>
    public static List<string> Problems(RunOutcome outcome)
    {
        var problems = new List<string>();
        if (outcome.Model is not { } model || outcome.Profile is not { } profile) return problems;
        foreach (var finding in outcome.Diagnosis.Findings.Where(f => f.Severity != Severity.Info))
            foreach (var remedy in finding.Remedies)
                if (Unchanged(remedy, model, profile) is { } why)
                    problems.Add($"{finding.Kind}'s remedy \"{remedy.Title}\" changes nothing in this model: {why}");
        return problems;
    }

    private static string? Unchanged(Remedy remedy, Module model, ModelProfile profile)
    {
        switch (remedy.Kind)
        {
            case RemedyKind.SwapToRelu or RemedyKind.SwapToLeakyRelu:
                if (remedy.From is not { } from || remedy.To is not { } to) return "it names no activation to replace";
                if (profile.FunctionalActivations.Any(f => f.Activation == from)) return null;   // the line to change is in forward()
                int replaced = model is Sequential sequential
                    ? ModuleTypes(sequential).Count(t => t == from.ToString()) - ModuleTypes(ActivationSwap.Replace(sequential, from, to)).Count(t => t == from.ToString())
                    : ActivationSwap.Replace(model, from, to).Replaced.Count;
                return replaced > 0 ? null : $"ActivationSwap.Replace(model, Activation.{from}, Activation.{to}) replaced nothing";
            case RemedyKind.HeInit:
                return profile.HeInitialized ? "the weights already have He's scale" : null;
            case RemedyKind.BatchNorm:
                if (profile.HasNormalization) return "the model already normalises";
                if (model is Sequential seq && !ModuleTypes(Normalization.InsertBatchNorm(seq)).Any(t => t.StartsWith("BatchNorm", StringComparison.Ordinal) || t == "LayerNorm"))
                    return "Normalization.InsertBatchNorm inserted nothing";
                return null;
            case RemedyKind.CallModules:
                return profile.SilentActivations.Count > 0 ? null : "every activation hook fires already";
            default:
                return null;
        }
    }

    private static List<string> ModuleTypes(Module m) => m.named_modules().Select(x => ActivationName(x.module)).ToList();

    private static string ActivationName(Module m) => m.GetType().Name switch
    {
        "ReLU" => "ReLU", "LeakyReLU" => "LeakyReLU", "Sigmoid" => "Sigmoid", "Tanh" => "Tanh", "ELU" => "ELU", "GELU" => "GELU", "SELU" => "SELU",
        var other => other,
    };
}
