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

    private static readonly Dictionary<short, OpCode> OneByte = new();
    private static readonly Dictionary<short, OpCode> TwoByte = new();

    static ForwardScanner()
    {
        foreach (var f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)f.GetValue(null)!;
            if (op.Size == 1) OneByte[op.Value] = op; else TwoByte[unchecked((short)(op.Value & 0xFF))] = op;
        }
    }

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

    /// <summary>The methods <paramref name="method"/> calls, read from its IL with the operand sizes of every opcode.</summary>
    private static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException) { yield break; }
        if (il is null) yield break;
        int at = 0;
        while (at < il.Length)
        {
            OpCode op;
            if (il[at] == 0xFE && at + 1 < il.Length) { if (!TwoByte.TryGetValue(il[at + 1], out op)) yield break; at += 2; }
            else { if (!OneByte.TryGetValue(il[at], out op)) yield break; at += 1; }
            int operand = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * (at + 4 <= il.Length ? BitConverter.ToInt32(il, at) : 0),
                _ => 4,
            };
            if ((op == OpCodes.Call || op == OpCodes.Callvirt) && at + 4 <= il.Length)
            {
                MethodBase? callee = null;
                try { callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, at), method.DeclaringType?.GetGenericArguments(), method.IsGenericMethod ? method.GetGenericArguments() : null); }
                catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException or FileNotFoundException) { }
                if (callee is not null) yield return callee;
            }
            at += operand;
        }
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
