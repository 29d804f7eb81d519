using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Hooks;

/// <summary>
/// Forward hooks on activation modules. Each hook, when armed (the next capture is a full one) and the module is
/// in training mode, reduces the module's output to two counts on the output's device and keeps only that small
/// tensor, detached from every dispose scope; the intermediate output itself is never kept (Sequential disposes it).
/// </summary>
internal sealed class ActivationTracker : IDisposable
{
    private static readonly HashSet<string> Rectifiers = new() { "ReLU", "ReLU6", "LeakyReLU" };
    private static readonly HashSet<string> Saturating = new() { "Sigmoid", "Tanh" };

    private readonly List<Entry> _entries = new();
    private readonly double _sigmoidHalfWidth;   // |s - 1/2| above this is saturated
    private readonly double _tanhLimit;          // |y| above this is saturated

    private sealed class Entry
    {
        public required string Name;
        public required string TypeName;
        public required ActivationFamily Family;
        public required Action Remove;
        public Tensor? Latest;   // [2] counts on the output's device, outside every dispose scope
        public (long First, long Second) Denominators;
        public bool Failed;
        public bool Fired;      // the hook ran in a training forward pass at least once
    }

    public ActivationTracker(double saturationDerivativeFraction)
    {
        // sigmoid: s(1-s) < f/4  <=>  |s - 1/2| > sqrt(1 - f)/2 ; tanh: 1 - y^2 < f  <=>  |y| > sqrt(1 - f)
        _sigmoidHalfWidth = Math.Sqrt(1 - saturationDerivativeFraction) / 2;
        _tanhLimit = Math.Sqrt(1 - saturationDerivativeFraction);
    }

    /// <summary>True between arming and the capture that reads the results.</summary>
    public bool Armed { get; set; }

    public int Count => _entries.Count;

    /// <summary>The family the tracker measures a module type as, or null when it does not hook that type.</summary>
    public static ActivationFamily? FamilyOf(string typeName) =>
        Rectifiers.Contains(typeName) ? ActivationFamily.Rectifier : Saturating.Contains(typeName) ? ActivationFamily.Saturating : null;

    /// <summary>Paths of the hooked modules.</summary>
    public IReadOnlySet<string> HookedPaths => _entries.Select(e => e.Name).ToHashSet();

    /// <summary>Paths of the hooked modules whose hook has run in a training forward pass.</summary>
    public IReadOnlySet<string> FiredPaths => _entries.Where(e => e.Fired).Select(e => e.Name).ToHashSet();

    /// <summary>Marks the hooks of <paramref name="paths"/> as having fired (a run resumed from a checkpoint).</summary>
    public void MarkFired(IReadOnlySet<string> paths)
    {
        foreach (var e in _entries) if (paths.Contains(e.Name)) e.Fired = true;
    }

    /// <summary>Registers hooks on every activation module; on failure removes those already added and rethrows.</summary>
    public void Attach(Module model)
    {
        try
        {
            foreach (var (name, module) in model.named_modules())
            {
                var typeName = module.GetType().Name;
                bool rect = Rectifiers.Contains(typeName), sat = Saturating.Contains(typeName);
                if ((!rect && !sat) || module is not Module<Tensor, Tensor> hookable) continue;
                var entry = new Entry
                {
                    Name = name, TypeName = typeName,
                    Family = rect ? ActivationFamily.Rectifier : ActivationFamily.Saturating,
                    Remove = () => { },
                };
                var handle = hookable.register_forward_hook((m, input, output) => { SafeOnForward(entry, m, output); return null!; });
                entry.Remove = handle.remove;
                _entries.Add(entry);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Errors raised inside hooks, one per module; that module's statistics are off from then on.</summary>
    public List<string> Errors { get; } = new();

    /// <summary>A monitoring hook must never break the user's forward pass: an error disables the module's statistics and is recorded.</summary>
    private void SafeOnForward(Entry entry, Module module, Tensor output)
    {
        if (module.training) entry.Fired = true;
        if (entry.Failed) return;
        try { OnForward(entry, module, output); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            entry.Failed = true;
            entry.Latest?.Dispose();
            entry.Latest = null;
            Errors.Add($"{entry.Name} ({entry.TypeName}): {e.Message}");
        }
    }

    private void OnForward(Entry entry, Module module, Tensor output)
    {
        if (!Armed || !module.training || output is null || output.numel() == 0) return;
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        // Counts, not means: integer sums over a bool mask allocate nothing of the output's size.
        // Counts, not means, and no boolean masks: comparisons into bool tensors measured 5x slower than
        // sign/amax here. Rectifier outputs y: active outputs = Σ sign(max(y, 0)); dead units = units whose
        // largest output over the batch is <= 0.
        var flat = output.dim() >= 2 ? output.reshape(output.shape[0], -1) : output.reshape(1, -1);
        Tensor pair;
        if (entry.Family == ActivationFamily.Rectifier)
        {
            var positive = entry.TypeName == "LeakyReLU" ? flat.clamp_min(0) : flat;   // ReLU, ReLU6 are already >= 0
            var activeOutputs = positive.sign().sum();
            var liveUnits = positive.amax(new long[] { 0 }).sign_().sum();
            pair = torch.stack(new[] { activeOutputs, liveUnits });
            entry.Denominators = (flat.numel(), flat.shape[1]);
        }
        else
        {
            var saturated = entry.TypeName == "Sigmoid" ? (flat - 0.5).abs_().gt_(_sigmoidHalfWidth) : flat.abs().gt_(_tanhLimit);
            var count = saturated.sum();
            pair = torch.stack(new[] { count, count });
            entry.Denominators = (flat.numel(), flat.numel());
        }
        entry.Latest?.Dispose();
        entry.Latest = pair.DetachFromDisposeScope();
    }

    /// <summary>The latest results, one [2] tensor per module that produced one since the last <see cref="Collect"/>.</summary>
    public List<Tensor> Pending()
    {
        var list = new List<Tensor>();
        foreach (var e in _entries) if (e.Latest is not null) list.Add(e.Latest);
        return list;
    }

    /// <summary>Turns transferred values (two per pending module, in <see cref="Pending"/> order) into statistics and frees the tensors.</summary>
    public ActivationStats[] Collect(ReadOnlySpan<double> values)
    {
        var result = new List<ActivationStats>();
        int at = 0;
        foreach (var e in _entries)
        {
            if (e.Latest is null) continue;
            double a = values[at] / e.Denominators.First, b = values[at + 1] / e.Denominators.Second;
            at += 2;
            result.Add(e.Family == ActivationFamily.Rectifier
                ? new ActivationStats(e.Name, e.TypeName, e.Family, InactiveFraction: 1 - a, DeadUnitFraction: 1 - b, null)
                : new ActivationStats(e.Name, e.TypeName, e.Family, null, null, SaturatedFraction: a));
            e.Latest.Dispose();
            e.Latest = null;
        }
        return result.ToArray();
    }

    public void Dispose()
    {
        foreach (var e in _entries)
        {
            e.Remove();
            e.Latest?.Dispose();
            e.Latest = null;
        }
        _entries.Clear();
    }
}
