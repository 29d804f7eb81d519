using GradientHooks.Initialization;
using GradientHooks.ModelReading;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Layers;

/// <summary>
/// Activation swaps: the seed's second remedy. Sigmoid's derivative is at most 1/4 and tanh's at most 1, and both
/// vanish in saturation, so a deep stack multiplies the backward signal by many small factors. ReLU, LeakyReLU,
/// ELU, SELU and GELU have derivative 1 (or close) for positive inputs.
/// (Named ActivationSwap because <c>torch.nn.Activations</c> already exists.)
/// </summary>
public static class ActivationSwap
{
    /// <summary>
    /// Returns a new Sequential in which every activation module computing <paramref name="from"/> is replaced by a
    /// new module computing <paramref name="to"/> (same name, same place; nested Sequentials handled). Every other
    /// module, and so every weight, is shared with <paramref name="model"/>. <c>ReLU6</c> counts as ReLU. After a
    /// swap, re-initialise for the new activation (<see cref="Init.Apply"/>), e.g. He for ReLU.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="from"/> is <see cref="Activation.Linear"/>: there is no module to replace.</exception>
    public static Sequential Replace(Sequential model, Activation from, Activation to)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (from == Activation.Linear)
            throw new ArgumentException("ActivationSwap.Replace: 'from' must be an activation module type; Linear (identity) has no module to replace.", nameof(from));
        return SequentialRewriter.Rewrite(model, (name, module, next) =>
        {
            bool match = ActivationModules.Classify(module, out _) == from;
            return new[] { (name, match ? ActivationModules.Create(to) : module) };
        });
    }

    /// <summary>
    /// Replaces, in place, every activation module of <paramref name="model"/> that computes <paramref name="from"/>
    /// with a new module computing <paramref name="to"/>, wherever the model holds it: fields of custom modules (as
    /// <c>RegisterComponents</c> found them), <c>ModuleList</c> and <c>ModuleDict</c> entries, and children of nested
    /// Sequentials, at any depth. Both the registry (<c>named_modules</c>, <c>state_dict</c>) and the field or entry the
    /// module's code reads are changed, so <c>forward()</c> uses the new activation whether it calls <c>.call()</c> or
    /// <c>.forward()</c>. The model itself is returned (not a copy); weights are untouched. Activations it cannot reach
    /// are listed in <see cref="ActivationSwapResult.Unreachable"/>: functional calls found in a <c>forward()</c> (by
    /// reading its IL), and modules in fields whose declared type cannot hold the replacement. A module shared by
    /// several places is replaced by one new module, shared the same way. If any replacement fails, those already made
    /// are undone. After a swap, re-initialise for the new activation (<see cref="Init.Apply"/>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="from"/> is <see cref="Activation.Linear"/>: there is no module to replace.</exception>
    public static ActivationSwapResult Replace(nn.Module model, Activation from, Activation to)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (from == Activation.Linear)
            throw new ArgumentException("ActivationSwap.Replace: 'from' must be an activation module type; Linear (identity) has no module to replace.", nameof(from));
        var replacements = new Dictionary<nn.Module, nn.Module>(ReferenceEqualityComparer.Instance);
        var changes = new List<ActivationChange>();
        var undo = new List<(nn.Module Parent, string Name, nn.Module Old, nn.Module New)>();
        var unreachable = new List<string>();
        try
        {
            Visit(model, "", from, to, replacements, changes, undo, unreachable);
        }
        catch
        {
            for (int i = undo.Count - 1; i >= 0; i--) ModuleSurgery.Replace(undo[i].Parent, undo[i].Name, undo[i].New, undo[i].Old, out _);
            throw;
        }
        foreach (var call in ForwardScanner.Scan(model).Where(c => c.Activation == from))
            unreachable.Add($"{call.Method} calls {call.Function} ({call.Count}×): a function, not a module; write {Functional(to)} there");
        return new ActivationSwapResult(model, changes, unreachable);
    }

    private static void Visit(nn.Module parent, string path, Activation from, Activation to, Dictionary<nn.Module, nn.Module> replacements,
        List<ActivationChange> changes, List<(nn.Module, string, nn.Module, nn.Module)> undo, List<string> unreachable)
    {
        foreach (var (name, child) in parent.named_children().ToList())
        {
            var childPath = path.Length == 0 ? name : path + "." + name;
            if (ActivationModules.Classify(child, out var parameter) == from)
            {
                if (!replacements.TryGetValue(child, out var replacement))
                {
                    replacement = ActivationModules.Create(to);
                    if (!child.training) replacement.eval();
                    replacements[child] = replacement;
                }
                var heldBy = ModuleSurgery.Replace(parent, name, child, replacement, out var reason);
                if (heldBy is null) { unreachable.Add($"{childPath} ({child.GetType().Name}): {reason}"); continue; }
                undo.Add((parent, name, child, replacement));
                changes.Add(new ActivationChange(childPath, child.GetType().Name, replacement.GetType().Name, heldBy));
                continue;
            }
            Visit(child, childPath, from, to, replacements, changes, undo, unreachable);
        }
    }

    private static string Functional(Activation to) => to switch
    {
        Activation.ReLU => "functional.relu(x)",
        Activation.LeakyReLU => "functional.leaky_relu(x, 0.01)",
        Activation.ELU => "functional.elu(x)",
        Activation.SELU => "functional.selu(x)",
        Activation.GELU => "functional.gelu(x)",
        Activation.Sigmoid => "functional.sigmoid(x)",
        Activation.Tanh => "functional.tanh(x)",
        _ => "the input unchanged",
    };
}
