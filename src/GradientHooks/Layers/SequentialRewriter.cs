using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Layers;

/// <summary>Rebuilds a Sequential child by child (nested Sequentials recursively), sharing every module it keeps.</summary>
internal static class SequentialRewriter
{
    /// <summary>
    /// Calls <paramref name="rewrite"/> for each non-Sequential child with its name, the module and the module that
    /// runs after it inside the same Sequential (or null); the callback returns the children to put in its place.
    /// </summary>
    public static Sequential Rewrite(Sequential model,
        Func<string, nn.Module<Tensor, Tensor>, nn.Module?, IEnumerable<(string, nn.Module<Tensor, Tensor>)>> rewrite)
    {
        var children = model.named_children().ToList();
        var result = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < children.Count; i++)
        {
            var (name, child) = children[i];
            if (child is Sequential nested) { result.Add((name, Rewrite(nested, rewrite))); continue; }
            if (child is not nn.Module<Tensor, Tensor> tensorModule)
                throw new ArgumentException($"Child '{name}' of the Sequential is a {child.GetType().Name}, not a tensor-to-tensor module; a Sequential cannot hold it.");
            var next = i + 1 < children.Count ? FirstLeaf(children[i + 1].module) : null;
            result.AddRange(rewrite(name, tensorModule, next));
        }
        var rebuilt = nn.Sequential(result);
        rebuilt.train(model.training);
        return rebuilt;
    }

    private static nn.Module FirstLeaf(nn.Module module) =>
        module is Sequential s && s.named_children().Any() ? FirstLeaf(s.named_children().First().module) : module;

    public static ArgumentException NotSequential(nn.Module? model, string method) => new(
        $"{method} supports torch.nn.Sequential models (nested Sequentials included); got {(model is null ? "null" : model.GetType().Name)}. " +
        "Build the model as a Sequential, or apply the change by hand in your module's forward().", "model");
}
