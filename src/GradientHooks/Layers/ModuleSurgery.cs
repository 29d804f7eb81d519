using System.Collections;
using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.Layers;

/// <summary>
/// Replaces a direct child of a TorchSharp module in place, in both places a module keeps it: the registry that
/// <c>named_children</c>/<c>named_modules</c>/<c>parameters</c> read (<c>_internal_submodules</c>, which
/// <c>RegisterComponents</c> fills from the fields), and where the module's own code reads it (the field; a
/// ModuleList/ModuleDict entry; a Sequential's child list). TorchSharp 0.107 offers no public setter for either, so
/// this uses reflection on its non-public fields, and says so in its error when they are not where they were.
/// </summary>
internal static class ModuleSurgery
{
    private static readonly FieldInfo? Registry = typeof(Module).GetField("_internal_submodules", BindingFlags.Instance | BindingFlags.NonPublic);
    private static readonly FieldInfo? SequentialModules = typeof(Sequential).GetField("_modules", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>
    /// Puts <paramref name="replacement"/> where <paramref name="parent"/> holds the child <paramref name="name"/>
    /// (currently <paramref name="old"/>). Returns where it was held, or null with <paramref name="reason"/> when it
    /// cannot be replaced (a field whose declared type cannot hold the replacement).
    /// </summary>
    public static string? Replace(Module parent, string name, Module old, Module replacement, out string? reason)
    {
        reason = null;
        string? heldBy;
        switch (parent)
        {
            case Sequential sequential:
            {
                var list = SequentialModules?.GetValue(sequential) as IList
                    ?? throw Changed("Sequential._modules");
                int index = IndexOf(list, old);
                if (index < 0) { reason = $"Sequential child '{name}' is not in its list of modules"; return null; }
                list[index] = replacement;
                return $"Sequential child \"{name}\"";   // Sequential reads its own list for named_children
            }
            default:
                heldBy = ReplaceInContainer(parent, name, old, replacement) ?? ReplaceField(parent, name, old, replacement, out reason);
                break;
        }
        if (heldBy is null) return null;
        var registry = Registry?.GetValue(parent) as OrderedDict<string, Module> ?? throw Changed("Module._internal_submodules");
        registry[name] = replacement;   // the indexer keeps the child's position
        return heldBy;
    }

    private static string? ReplaceInContainer(Module parent, string name, Module old, Module replacement)
    {
        var type = parent.GetType();
        if (!type.IsGenericType) return null;
        var definition = type.GetGenericTypeDefinition();
        if (definition == typeof(ModuleList<>))
        {
            var item = type.GetGenericArguments()[0];
            if (!item.IsInstanceOfType(replacement)) return null;
            var list = type.GetField("_list", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(parent) as IList
                ?? throw Changed("ModuleList._list");
            int index = IndexOf(list, old);
            if (index < 0) return null;
            list[index] = replacement;
            return $"ModuleList index {index}";
        }
        if (definition == typeof(ModuleDict<>))
        {
            var item = type.GetGenericArguments()[0];
            if (!item.IsInstanceOfType(replacement)) return null;
            var indexer = type.GetProperty("Item", item, new[] { typeof(string) }) ?? throw Changed("ModuleDict[string]");
            indexer.SetValue(parent, replacement, new object[] { name });
            return $"ModuleDict key \"{name}\"";
        }
        return null;
    }

    private static string? ReplaceField(Module parent, string name, Module old, Module replacement, out string? reason)
    {
        reason = null;
        for (var type = parent.GetType(); type != null && type != typeof(object); type = type.BaseType)
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (!ReferenceEquals(field.GetValue(parent), old)) continue;
                var componentName = field.GetCustomAttribute<ComponentNameAttribute>()?.Name ?? field.Name;
                if (componentName != name) continue;
                if (!field.FieldType.IsInstanceOfType(replacement))
                {
                    reason = $"field {type.Name}.{field.Name} is declared as {field.FieldType.Name}, which cannot hold a {replacement.GetType().Name}; declare it as Module<Tensor, Tensor>";
                    return null;
                }
                field.SetValue(parent, replacement);   // readonly instance fields too: reflection may set them
                return $"field {field.Name}";
            }
        reason = $"no field of {parent.GetType().Name} holds '{name}' (registered with register_module only); the module's code may keep it elsewhere";
        return null;
    }

    private static int IndexOf(IList list, object item)
    {
        for (int i = 0; i < list.Count; i++) if (ReferenceEquals(list[i], item)) return i;
        return -1;
    }

    private static InvalidOperationException Changed(string member) => new(
        $"TorchSharp's internal {member} is not where GradientHooks expects it (built against TorchSharp 0.107); the model was not changed.");
}
