using GradientHooks.Initialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.ModelReading;

/// <summary>
/// Leaf modules in execution order where the order is known: a Sequential runs its children in order, so nested
/// Sequentials flatten into one sequence. Inside any other container the order is unknown; those leaves come
/// with no successor.
/// </summary>
internal static class ModuleOrder
{
    public sealed record Leaf(string Path, Module Module, Activation? Following, double? FollowingParameter, bool InOrderedContainer);

    public static List<Leaf> Leaves(Module model)
    {
        var result = new List<Leaf>();
        Walk(model, "", result, ordered: model is Sequential);
        return result;
    }

    private static void Walk(Module module, string path, List<Leaf> result, bool ordered)
    {
        var children = module.named_children().ToList();
        if (children.Count == 0 || IsLayer(module))
        {
            result.Add(new Leaf(path, module, null, null, ordered));
            return;
        }
        bool isSequential = module is Sequential;
        int start = result.Count;
        foreach (var (name, child) in children)
            Walk(child, path.Length == 0 ? name : path + "." + name, result, ordered && isSequential);
        if (!(ordered && isSequential)) return;
        // Within this Sequential (flattened), each leaf's successor activation is the first activation after it,
        // looking past shape-preserving modules (dropout, normalisation) and stopping at any other layer.
        for (int i = start; i < result.Count; i++)
        {
            if (result[i].Following is not null) continue;
            for (int j = i + 1; j < result.Count; j++)
            {
                var next = result[j].Module;
                var act = ActivationModules.Classify(next, out var p);
                if (act is not null) { result[i] = result[i] with { Following = act, FollowingParameter = p }; break; }
                if (!ActivationModules.IsTransparent(next)) break;
            }
        }
    }

    /// <summary>Modules treated as one unit even when they own submodules.</summary>
    private static bool IsLayer(Module m) => m is Linear or Convolution or Embedding or RNN or LSTM or GRU;
}
