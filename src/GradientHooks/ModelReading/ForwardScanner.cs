using System.Reflection;
using System.Reflection.Emit;
using GradientHooks.Initialization;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.ModelReading;

/// <summary>
/// Finds activations a model applies as functions rather than modules: it reads the IL of each custom module's
/// <c>forward</c> methods (and of the methods of the same type they call) and lists the calls to TorchSharp's
/// activation functions: <c>functional.relu</c>, <c>torch.sigmoid</c>, <c>Tensor.tanh_()</c> and the like. No hook and no
/// module swap can reach these; knowing them lets the diagnosis name the activation and the remedy name the line
/// to change. Types from TorchSharp itself are not scanned.
/// </summary>
internal static class ForwardScanner
{
    /// <summary>A functional activation call site.</summary>
    public sealed record Call(string Method, string Function, Activation Activation, int Count);

    /// <summary>Functional activation calls in the forward methods of <paramref name="model"/> and of every custom module inside it.</summary>
    public static IReadOnlyList<Call> Scan(Module model)
    {
        var types = new HashSet<Type> { model.GetType() };
        foreach (var (_, m) in model.named_modules()) types.Add(m.GetType());
        var calls = new List<Call>();
        foreach (var type in types)
        {
            if (type.Assembly == typeof(Module).Assembly) continue;
            var seen = new HashSet<MethodBase>();
            var queue = new Queue<MethodBase>(type.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(m => m.Name.Equals("forward", StringComparison.OrdinalIgnoreCase)));
            var counts = new Dictionary<(string Method, string Function, Activation Kind), int>();
            while (queue.Count > 0)
            {
                var method = queue.Dequeue();
                if (!seen.Add(method)) continue;
                foreach (var callee in Callees(method))
                {
                    if (Classify(callee) is { } hit)
                    {
                        var key = ($"{type.Name}.{method.Name}", hit.Function, hit.Kind);
                        counts[key] = counts.GetValueOrDefault(key) + 1;
                    }
                    else if (callee.DeclaringType == type && seen.Count < 64) queue.Enqueue(callee);   // helpers of the same module
                }
            }
            calls.AddRange(counts.Select(kv => new Call(kv.Key.Method, kv.Key.Function, kv.Key.Kind, kv.Value)));
        }
        return calls;
    }

    /// <summary>The methods <paramref name="method"/> calls, read from its IL.</summary>
    private static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        var il = IlInstructions.Body(method);
        if (il is null) yield break;
        foreach (var ins in IlInstructions.Decode(il))
            if ((ins.OpCode == OpCodes.Call || ins.OpCode == OpCodes.Callvirt) && IlInstructions.Method(method, ins, il) is { } callee)
                yield return callee;
    }

    /// <summary>A TorchSharp activation function, by its declaring type and name; null for anything else.</summary>
    private static (string Function, Activation Kind)? Classify(MethodBase callee)
    {
        var declaring = callee.DeclaringType;
        if (declaring is null || declaring.Assembly != typeof(Module).Assembly) return null;
        var name = callee.Name.TrimEnd('_');
        Activation? kind = name switch
        {
            "relu" or "relu6" => Activation.ReLU,
            "leaky_relu" => Activation.LeakyReLU,
            "elu" => Activation.ELU,
            "selu" => Activation.SELU,
            "gelu" => Activation.GELU,
            "sigmoid" => Activation.Sigmoid,
            "tanh" => Activation.Tanh,
            _ => null,
        };
        if (kind is null) return null;
        var owner = declaring.Name switch
        {
            "functional" => "functional",
            "Tensor" => "Tensor",
            "torch" => "torch",
            _ => declaring.Name,
        };
        return ($"{owner}.{callee.Name}", kind.Value);
    }
}
