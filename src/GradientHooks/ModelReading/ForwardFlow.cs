using System.Reflection;
using System.Reflection.Emit;
using TorchSharp.Modules;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.ModelReading;

/// <summary>
/// The order in which a custom module's <c>forward()</c> runs its children, read from its IL: a small abstract
/// interpretation of the evaluation stack that knows which values are the module's own fields (and elements of a
/// ModuleList, ModuleDict or Sequential field, by index or by <c>foreach</c>), and records each child the first time
/// a method is called on it (<c>forward</c>, <c>call</c>, any other method, or its <c>weight</c>/<c>bias</c> read as
/// in weight tying), and each of the module's own <see cref="Parameter"/> fields the first time it is loaded.
/// <para>
/// The receiver of a call, not the order of the loads, decides: in <c>fc2.forward(act(fc1.forward(x)))</c> the field
/// <c>fc2</c> is loaded first but called last. Helper methods of the same type are followed where they are called.
/// Lambdas, delegates and calls through other objects are not followed: children used only there are not found,
/// and the caller falls back to another source for them.
/// </para>
/// </summary>
internal static class ForwardFlow
{
    /// <summary>Methods on a module that read its state rather than run it.</summary>
    private static readonly HashSet<string> NotRuns = new(StringComparer.Ordinal)
    {
        "get_training", "train", "eval", "parameters", "named_parameters", "children", "named_children", "modules",
        "named_modules", "buffers", "named_buffers", "GetName", "get_Count", "state_dict", "zero_grad", "to", "cpu", "cuda",
        "GetType", "GetHashCode", "Equals", "ToString", "Dispose", "register_forward_hook", "register_forward_pre_hook",
    };

    /// <summary>What <c>forward()</c> uses, in the order it first uses it.</summary>
    /// <param name="Uses">Children (modules) and own parameters, first use first; a container child stands for all its entries.</param>
    /// <param name="Readable">False when no forward method with IL was found on the type.</param>
    public sealed record Result(IReadOnlyList<object> Uses, bool Readable);

    private abstract record Value;
    private sealed record ThisValue : Value;
    private sealed record FieldValue(object Target) : Value;        // a field of this module holding a Module or Parameter
    private sealed record ElementValue(Module Container) : Value;   // an entry of a container field (or an enumerator over it)

    /// <summary>Reads the forward methods of <paramref name="module"/>'s type (and the helpers they call) against this instance's fields.</summary>
    public static Result Read(Module module)
    {
        var type = module.GetType();
        var forwards = type.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .Where(m => m.Name.Equals("forward", StringComparison.OrdinalIgnoreCase) && m.DeclaringType is { } d && d.Assembly != typeof(Module).Assembly)
            .ToList();
        var uses = new List<object>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var visited = new HashSet<MethodBase>();
        bool readable = false;
        foreach (var forward in forwards)
            readable |= Interpret(module, forward, uses, seen, visited, depth: 0);
        return new Result(uses, readable);
    }

    private static bool Interpret(Module module, MethodBase method, List<object> uses, HashSet<object> seen, HashSet<MethodBase> visited, int depth)
    {
        if (depth > 8 || !visited.Add(method)) return false;
        var il = IlInstructions.Body(method);
        if (il is null) return false;
        var stack = new List<Value?>();
        var locals = new Dictionary<int, Value?>();
        void Push(Value? v) => stack.Add(v);
        Value? Pop()
        {
            if (stack.Count == 0) return null;
            var v = stack[^1];
            stack.RemoveAt(stack.Count - 1);
            return v;
        }
        void Use(object target) { if (seen.Add(target)) uses.Add(target); }

        foreach (var ins in IlInstructions.Decode(il))
        {
            var op = ins.OpCode;
            if (op == OpCodes.Ldarg_0 && !method.IsStatic) { Push(new ThisValue()); continue; }
            if (op == OpCodes.Ldfld || op == OpCodes.Ldflda)
            {
                var owner = Pop();
                var field = IlInstructions.Field(method, ins, il);
                object? value = owner is ThisValue && field is not null && !field.IsStatic ? SafeValue(field, module) : null;
                if (value is Parameter p) { Use(p); Push(new FieldValue(p)); }
                else Push(value is Module m ? new FieldValue(m) : null);
                continue;
            }
            int local = IlInstructions.LocalIndex(ins, il);
            if (local >= 0)
            {
                if (op.StackBehaviourPop == StackBehaviour.Pop1) locals[local] = Pop();   // stloc
                else Push(locals.GetValueOrDefault(local));                              // ldloc, ldloca
                continue;
            }
            if (op == OpCodes.Dup) { var v = Pop(); Push(v); Push(v); continue; }
            if (op == OpCodes.Isinst || op == OpCodes.Castclass) continue;   // `rnn is LSTM lstm`: the same object, another static type
            if (op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj)
            {
                var callee = IlInstructions.Method(method, ins, il);
                if (callee is null) { stack.Clear(); continue; }
                var args = new Value?[callee.GetParameters().Length];
                for (int i = args.Length - 1; i >= 0; i--) args[i] = Pop();
                Value? receiver = op != OpCodes.Newobj && !callee.IsStatic ? Pop() : null;
                Value? result = null;
                if (receiver is ThisValue && callee.DeclaringType is { } d && d.IsAssignableFrom(module.GetType()) && d.Assembly != typeof(Module).Assembly)
                    Interpret(module, callee, uses, seen, visited, depth + 1);   // a helper of this module, followed where it is called
                else if (receiver is FieldValue { Target: Module child })
                {
                    if (IsContainer(child) && !IsRun(callee)) result = new ElementValue(child);
                    else if (IsRun(callee) || callee.Name is "get_weight" or "get_bias") Use(child);
                }
                else if (receiver is ElementValue element)
                {
                    if (IsRun(callee) && IsModuleMethod(callee)) Use(element.Container);
                    else result = element;   // get_Current, get_Item, get_Value: still an entry of the container
                }
                else if (callee.IsStatic && args.Length > 0 && (args[0] is ElementValue || args[0] is FieldValue { Target: Module c } && IsContainer(c)))
                    result = args[0] as ElementValue ?? new ElementValue((Module)((FieldValue)args[0]!).Target);   // Enumerable.ElementAt, First, ...
                bool returns = op == OpCodes.Newobj || callee is MethodInfo { ReturnType: var r } && r != typeof(void);
                if (returns) Push(result);
                continue;
            }
            // Every other instruction: pop and push as many values as it takes and leaves (their identity is unknown).
            int pops = Pops(op.StackBehaviourPop), pushes = Pushes(op.StackBehaviourPush);
            for (int i = 0; i < pops; i++) Pop();
            for (int i = 0; i < pushes; i++) Push(null);
            if (op.FlowControl is FlowControl.Branch or FlowControl.Return or FlowControl.Throw) stack.Clear();
        }
        return true;
    }

    private static object? SafeValue(FieldInfo field, Module module)
    {
        try { return field.DeclaringType is { } d && d.IsInstanceOfType(module) ? field.GetValue(module) : null; }
        catch (Exception e) when (e is ArgumentException or FieldAccessException or TargetException) { return null; }
    }

    private static bool IsContainer(Module m) => m is Sequential || m.GetType().Name.StartsWith("ModuleList", StringComparison.Ordinal) || m.GetType().Name.StartsWith("ModuleDict", StringComparison.Ordinal);

    /// <summary>A method that runs the module (forward, call, or any of its own computations), as opposed to reading its state or walking a container.</summary>
    private static bool IsRun(MethodBase callee) => !NotRuns.Contains(callee.Name) && !callee.Name.StartsWith("get_", StringComparison.Ordinal)
        && !callee.Name.StartsWith("set_", StringComparison.Ordinal) && callee.Name is not ("GetEnumerator" or "MoveNext" or "ElementAt" or "TryGetValue" or "ContainsKey");

    private static bool IsModuleMethod(MethodBase callee) => callee.DeclaringType is { } d && typeof(Module).IsAssignableFrom(d) || callee.Name is "forward" or "call";

    private static int Pops(StackBehaviour b) => b switch
    {
        StackBehaviour.Pop0 => 0,
        StackBehaviour.Pop1 or StackBehaviour.Popi or StackBehaviour.Popref => 1,
        StackBehaviour.Pop1_pop1 or StackBehaviour.Popi_pop1 or StackBehaviour.Popi_popi or StackBehaviour.Popi_popi8
            or StackBehaviour.Popi_popr4 or StackBehaviour.Popi_popr8 or StackBehaviour.Popref_pop1 or StackBehaviour.Popref_popi => 2,
        StackBehaviour.Popi_popi_popi or StackBehaviour.Popref_popi_popi or StackBehaviour.Popref_popi_popi8 or StackBehaviour.Popref_popi_popr4
            or StackBehaviour.Popref_popi_popr8 or StackBehaviour.Popref_popi_popref or StackBehaviour.Popref_popi_pop1 => 3,
        _ => 0,
    };

    private static int Pushes(StackBehaviour b) => b switch
    {
        StackBehaviour.Push0 => 0,
        StackBehaviour.Push1_push1 => 2,
        StackBehaviour.Varpush => 0,
        _ => 1,
    };
}
