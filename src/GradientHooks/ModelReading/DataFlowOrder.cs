using TorchSharp.Modules;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.ModelReading;

/// <summary>
/// Orders a model's layers by data flow. The module tree is walked from the root; at each module whose children
/// (those holding trainable parameters) must be put in order, the best source available there decides:
/// <list type="number">
/// <item>pre-hooks: the children's first runs in a forward pass (<see cref="Hooks.FirstForwardProbe"/>), when every
/// such child (or something inside it) ran through <c>.call()</c>;</item>
/// <item>definition: a <c>Sequential</c> runs its children in order, a ModuleList/ModuleDict is taken in its order
/// (its owner's forward decides when it runs), TorchSharp's native blocks in their documented order;</item>
/// <item>the IL of a custom module's <c>forward()</c> (<see cref="ForwardFlow"/>);</item>
/// <item>declaration order, for what none of these reached.</item>
/// </list>
/// The result's <see cref="LayerOrder.Source"/> is the weakest source that had to order two or more branches.
/// </summary>
internal static class DataFlowOrder
{
    /// <summary>
    /// Data flow inside TorchSharp's native blocks, whose children .NET cannot list (their parameters name them):
    /// TransformerEncoderLayer and TransformerDecoderLayer as TorchSharp builds them (post-norm), the encoder and
    /// decoder stacks (their layers, then the final norm), the whole Transformer. The smallest table holding every
    /// child name applies; other native modules keep their registration order, which is their definition.
    /// </summary>
    private static readonly string[][] NativeFlows =
    {
        new[] { "layers", "norm" },
        new[] { "encoder", "decoder" },
        new[] { "self_attn", "norm1", "linear1", "linear2", "norm2" },
        new[] { "self_attn", "norm1", "multihead_attn", "norm2", "linear1", "linear2", "norm3" },
    };

    /// <summary>
    /// The data-flow order of <paramref name="layers"/> (the owners of the monitored parameters, in parameter order) in
    /// <paramref name="model"/>, given the first runs the pre-hooks saw (module path → position; empty when none fired).
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="layers">The layers to order, in parameter order.</param>
    /// <param name="firstRun">First runs seen by the pre-hooks.</param>
    /// <param name="unused">Layers with no gradient after the first backward: they never ran, so that the IL not finding them says nothing about the order of the others; they go last.</param>
    public static LayerOrder Compute(Module model, IReadOnlyList<string> layers, IReadOnlyDictionary<string, int> firstRun, IReadOnlySet<string>? unused = null)
    {
        var walk = new Walk(layers, firstRun, unused ?? new HashSet<string>());
        var ordered = walk.Order(model, "");
        // Layers the walk did not reach (a parameter registered under a path that is no module): declaration order, last.
        foreach (var l in layers) if (!ordered.Contains(l)) ordered.Add(l);
        var source = walk.Weakest ?? (firstRun.Count > 0 ? LayerOrderSource.Hooks : LayerOrderSource.Declaration);
        return new LayerOrder(ordered.Distinct().ToList(), source);
    }

    private sealed class Walk
    {
        private readonly IReadOnlyList<string> _layers;   // parameter (declaration) order
        private readonly HashSet<string> _wanted;
        private readonly IReadOnlyDictionary<string, int> _firstRun;

        private readonly IReadOnlySet<string> _unused;

        public Walk(IReadOnlyList<string> layers, IReadOnlyDictionary<string, int> firstRun, IReadOnlySet<string> unused)
        {
            _layers = layers;
            _unused = unused;
            _wanted = new HashSet<string>(layers, StringComparer.Ordinal);
            _firstRun = firstRun;
        }

        /// <summary>The weakest source used where two or more branches had to be ordered; null when no such choice came up.</summary>
        public LayerOrderSource? Weakest { get; private set; }

        private void Used(LayerOrderSource source) { if (Weakest is null || source > Weakest) Weakest = source; }

        private string LayerName(string path) => path.Length == 0 ? ParameterInfo.RootLayer : path;

        /// <summary>First run of anything in the subtree at <paramref name="path"/>, or null when nothing in it fired.</summary>
        private int? FirstRun(string path)
        {
            int? best = null;
            foreach (var (p, i) in _firstRun)
                if ((p == path || p.StartsWith(path + ".", StringComparison.Ordinal)) && (best is null || i < best)) best = i;
            return best;
        }

        /// <summary>
        /// The layers under <paramref name="path"/> in data-flow order. The children are the next path segments of the
        /// wanted layers (native TorchSharp modules do not list their children, their parameters name them); their
        /// module objects come from <c>named_children</c> where it lists them (null otherwise).
        /// </summary>
        public List<string> Order(Module? module, string path)
        {
            var listed = new Dictionary<string, Module>(StringComparer.Ordinal);
            if (module is not null)
                foreach (var (name, child) in module.named_children()) listed.TryAdd(name, child);
            var prefix = path.Length == 0 ? "" : path + ".";
            var children = new List<(string Name, string Path, Module? Module)>();
            foreach (var layer in _layers)
            {
                if (layer == LayerName(path) || !layer.StartsWith(prefix, StringComparison.Ordinal) || layer == ParameterInfo.RootLayer) continue;
                var rest = layer[prefix.Length..];
                var name = rest.Split('.')[0];
                if (children.All(c => c.Name != name)) children.Add((name, prefix + name, listed.GetValueOrDefault(name)));
            }
            bool own = _wanted.Contains(LayerName(path));
            var result = new List<string>();
            if (children.Count == 0) { if (own) result.Add(LayerName(path)); return result; }

            var (sorted, ownAt) = children.Count + (own ? 1 : 0) <= 1 ? (children, 0)
                : module is null || !IsCustom(module) && module.named_children().Count() == 0 ? (Native(children), 0)
                : Arrange(module, children, own);
            for (int i = 0; i < sorted.Count; i++)
            {
                if (own && i == ownAt) result.Add(LayerName(path));
                result.AddRange(Order(sorted[i].Module, sorted[i].Path));
            }
            if (own && ownAt >= sorted.Count) result.Add(LayerName(path));
            return result;
        }

        /// <summary>The children in data-flow order, and where the module's own parameters go among them.</summary>
        private (List<(string Name, string Path, Module? Module)> Sorted, int OwnAt) Arrange(Module module, List<(string Name, string Path, Module? Module)> children, bool own)
        {
            ForwardFlow.Result? flow = null;
            ForwardFlow.Result Flow() => flow ??= IsCustom(module) ? ForwardFlow.Read(module) : new ForwardFlow.Result(Array.Empty<object>(), false);
            int OwnAtFromIl(List<(string Name, string Path, Module? Module)> sorted)
            {
                if (!own || !IsCustom(module)) return 0;
                var uses = Flow().Uses;
                int firstParameter = uses.Select((u, i) => (u, i)).FirstOrDefault(x => x.u is Parameter, (null!, -1)).Item2;
                if (firstParameter < 0) return 0;
                return sorted.Count(c => IndexOf(uses, c.Module) is int at && at < firstParameter);
            }

            // 1. Pre-hooks, when every child that ran at all ran through them.
            var runs = children.Select(c => FirstRun(c.Path)).ToList();
            if (runs.Select((r, i) => r is not null || Unused(children[i].Path)).All(x => x) && runs.Any(r => r is not null))
            {
                var sorted = children.Select((c, i) => (c, r: runs[i] ?? int.MaxValue, i)).OrderBy(x => x.r).ThenBy(x => x.i).Select(x => x.c).ToList();
                Used(LayerOrderSource.Hooks);
                return (sorted, OwnAtFromIl(sorted));
            }
            // 2. Definition.
            if (module is Sequential || IsContainer(module) || !IsCustom(module)) return (children, 0);
            // 3. The IL of forward().
            var uses = Flow().Uses;
            var positions = children.Select(c => IndexOf(uses, c.Module)).ToList();
            if (positions.Any(p => p is not null))
            {
                var sorted = children.Select((c, i) => (c, p: positions[i] ?? int.MaxValue, i)).OrderBy(x => x.p).ThenBy(x => x.i).Select(x => x.c).ToList();
                Used(positions.Select((p, i) => p is not null || Unused(children[i].Path)).All(x => x) ? LayerOrderSource.ForwardIL : LayerOrderSource.Declaration);
                return (sorted, OwnAtFromIl(sorted));
            }
            // 4. Declaration.
            Used(LayerOrderSource.Declaration);
            return (children, 0);
        }

        /// <summary>The children of a native block in its documented data flow, or in registration order.</summary>
        private static List<(string Name, string Path, Module? Module)> Native(List<(string Name, string Path, Module? Module)> children)
        {
            var flow = NativeFlows.Where(f => children.All(c => f.Contains(c.Name))).MinBy(f => f.Length);
            return flow is null ? children : children.OrderBy(c => Array.IndexOf(flow, c.Name)).ToList();
        }

        /// <summary>True when no layer under <paramref name="path"/> received a gradient: it never ran.</summary>
        private bool Unused(string path) => _layers.Where(l => l == path || l.StartsWith(path + ".", StringComparison.Ordinal)).All(_unused.Contains);

        private static int? IndexOf(IReadOnlyList<object> uses, Module? child)
        {
            if (child is null) return null;
            for (int i = 0; i < uses.Count; i++) if (ReferenceEquals(uses[i], child)) return i;
            return null;
        }

        private static bool IsCustom(Module m) => m.GetType().Assembly != typeof(Module).Assembly;

        private static bool IsContainer(Module m) => m.GetType().Name.StartsWith("ModuleList", StringComparison.Ordinal) || m.GetType().Name.StartsWith("ModuleDict", StringComparison.Ordinal);
    }
}
