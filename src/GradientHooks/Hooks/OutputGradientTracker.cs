using System.Reflection;
using GradientHooks.Capture;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.Hooks;

/// <summary>
/// Records ∂L/∂h for tapped tensors (<see cref="GradientMonitor.Tap"/>) and, with automatic capture, puts a tap on the
/// output of every module that owns trainable parameters (forward hooks, where they fire) and on the input sequence of
/// recurrent layers (a pre-hook). When armed (the next capture is full), each tap's backward reduces the gradient to its
/// sufficient statistics (Σg, Σg², max |g|, non-finite and zero counts): a contiguous CPU gradient by the same managed
/// SIMD pass as the weights' (<see cref="FusedReduction"/>: no libtorch call, no tensor); any other on its own device to
/// a five-scalar tensor, which reaches .NET in the capture's single transfer. When not armed, the hooks return the
/// output untouched: no autograd node.
/// </summary>
internal sealed class OutputGradientTracker : IDisposable
{
    private readonly List<(string Name, Tensor? Stats, GradientStats Known, long Count, int Order)> _pending = new();
    private readonly List<Action> _removers = new();
    private readonly object _lock = new();
    private int _order;

    /// <summary>True when the next capture is full: taps record.</summary>
    public bool Armed { get; set; }

    /// <summary>Module paths that got an automatic tap.</summary>
    public List<string> Tapped { get; } = new();

    /// <summary>Taps <paramref name="x"/> under <paramref name="name"/>.</summary>
    public Tensor Tap(Tensor x, string name) => GradientTap.Apply(x, new Tap(g => Record(name, g), 1), nameof(x));

    private void Record(string name, Tensor g)
    {
        if (!Armed || g is null || g.IsInvalid || g.numel() == 0) return;
        long count = g.numel();
        if (Fused(g) is { } known)
        {
            lock (_lock) _pending.Add((name, null, known, count, _order++));
            return;
        }
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var d = g.detach().to_type(ScalarType.Float64).reshape(-1);
        var stats = torch.stack(new[]
        {
            d.sum(), d.square().sum(), d.abs().max(), d.isfinite().logical_not().sum().to_type(ScalarType.Float64), d.eq(0).sum().to_type(ScalarType.Float64),
        }).DetachFromDisposeScope();
        lock (_lock) _pending.Add((name, stats, default, count, _order++));
    }

    /// <summary>The statistics of a contiguous CPU float gradient read in place (null for anything else, or a gradient with NaN/Inf, whose exact count libtorch gives).</summary>
    private static unsafe GradientStats? Fused(Tensor g)
    {
        if (g.device_type != DeviceType.CPU || !g.is_contiguous()) return null;
        FusedReduction.ElementType? type = g.dtype switch
        {
            ScalarType.Float32 => FusedReduction.ElementType.Float32,
            ScalarType.Float64 => FusedReduction.ElementType.Float64,
            ScalarType.Float16 => FusedReduction.ElementType.Float16,
            ScalarType.BFloat16 => FusedReduction.ElementType.BFloat16,
            _ => null,
        };
        if (type is null) return null;
        Span<byte> bytes;
        try { bytes = g.bytes; }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException) { return null; }
        long count = g.numel();
        if (bytes.Length != count * g.element_size()) return null;
        ReductionPartial partial;
        fixed (byte* data = bytes) partial = FusedReduction.Reduce(data, count, type.Value, 0, Span<byte>.Empty);
        if (!partial.IsFinite) return null;
        return new GradientStats(count, partial.Sum, partial.SumOfSquares, partial.MaxAbs, 0, partial.Zeros);
    }

    /// <summary>The pending five-scalar tensors (gradients not read in place), in recording order, for the capture's transfer.</summary>
    public List<Tensor> Pending()
    {
        lock (_lock) return _pending.Where(p => p.Stats is not null).Select(p => p.Stats!).ToList();
    }

    /// <summary>Statistics of every tap since the last collect (five transferred values per tensor of <see cref="Pending"/>, in its order); merged per name, first order kept; frees the tensors.</summary>
    public OutputGradient[] Collect(ReadOnlySpan<double> values)
    {
        var merged = new Dictionary<string, OutputGradient>(StringComparer.Ordinal);
        var order = new List<string>();
        List<(string Name, Tensor? Stats, GradientStats Known, long Count, int Order)> pending;
        lock (_lock) { pending = _pending.ToList(); _pending.Clear(); _order = 0; }
        int at = 0;
        for (int i = 0; i < pending.Count; i++)
        {
            var p = pending[i];
            var stats = p.Known;
            if (p.Stats is not null)
            {
                var v = values.Slice(5 * at++, 5);
                stats = new GradientStats(p.Count, v[0], v[1], v[2], (long)v[3], (long)v[4]);
            }
            if (merged.TryGetValue(p.Name, out var known)) merged[p.Name] = known with { Gradient = GradientStats.Merge(known.Gradient, stats) };
            else { merged[p.Name] = new OutputGradient(p.Name, stats, p.Order); order.Add(p.Name); }
            p.Stats?.Dispose();
        }
        return order.Select(n => merged[n]).ToArray();
    }

    /// <summary>Drops what was recorded (a step that is not captured in full).</summary>
    public void Clear()
    {
        lock (_lock) { foreach (var p in _pending) p.Stats?.Dispose(); _pending.Clear(); _order = 0; }
    }

    /// <summary>Puts a tap on the output of every module owning trainable parameters, and on the input of recurrent layers.</summary>
    public void Attach(Module model)
    {
        try
        {
            foreach (var (path, module) in model.named_modules().Prepend(("", model)).DistinctBy(m => m.Item1))
            {
                if (!module.named_parameters(recurse: false).Any(p => p.parameter.requires_grad)) continue;
                var name = path.Length == 0 ? ParameterInfo.RootLayer : path;
                if (Hook(module, name) is { } remove) { _removers.Add(remove); Tapped.Add(name); }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>A forward hook tapping the output of a Module&lt;Tensor, Tensor&gt;, or a pre-hook tapping the first input of a two-input module (RNN, LSTM, GRU); null for other signatures.</summary>
    private Action? Hook(Module module, string name)
    {
        for (var t = module.GetType(); t != null && t != typeof(Module); t = t.BaseType)
        {
            if (!t.IsGenericType) continue;
            var definition = t.GetGenericTypeDefinition();
            var args = t.GetGenericArguments();
            if (args[0] != typeof(Tensor)) return null;
            if (definition == typeof(nn.Module<,>) && args[1] == typeof(Tensor))
                return ((nn.Module<Tensor, Tensor>)module).register_forward_hook((_, _, output) => Armed && output is not null ? Tap(output, name) : null!).remove;
            if (definition == typeof(nn.Module<,,>))
                return (Action)typeof(OutputGradientTracker).GetMethod(nameof(HookInput), BindingFlags.NonPublic | BindingFlags.Instance)!
                    .MakeGenericMethod(args[1], args[2]).Invoke(this, new object[] { module, name })!;
            return null;
        }
        return null;
    }

    private Action HookInput<T2, TResult>(nn.Module<Tensor, T2, TResult> module, string name) =>
        module.register_forward_pre_hook((_, x, state) => Armed && x is not null && x.requires_grad ? (Tap(x, name), state) : null).remove;

    public void Dispose()
    {
        foreach (var remove in _removers) remove();
        _removers.Clear();
        Clear();
    }
}
