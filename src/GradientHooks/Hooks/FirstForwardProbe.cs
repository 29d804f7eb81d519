using System.Reflection;
using GradientHooks.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.Hooks;

/// <summary>
/// Forward pre-hooks that watch only the first forward passes after attach, then are removed: the order in which
/// modules first run (for <see cref="LayerOrder"/>), and the per-feature scale of the model's input batch (for the
/// unscaled-inputs check). A pre-hook fires where TorchSharp runs a module through <c>module.call(x)</c> (as
/// <c>Sequential</c> runs its children); modules run with <c>.forward(x)</c> stay silent and are ordered from the IL
/// instead. Nothing runs per step once <see cref="Dispose"/> has been called.
/// </summary>
internal sealed class FirstForwardProbe : IDisposable
{
    private readonly Dictionary<string, int> _firstRun = new(StringComparer.Ordinal);
    private readonly List<Action> _removers = new();
    private readonly int _inputBatches;
    private string? _inputModule;
    private bool _inputRejected;
    private double[]? _sum, _sumSquares;
    private long _rows;
    private int _batches;

    /// <param name="inputBatches">How many input batches to measure the feature scale over.</param>
    public FirstForwardProbe(int inputBatches) => _inputBatches = inputBatches;

    /// <summary>Module path → the position of its first run among all first runs (0 = first).</summary>
    public IReadOnlyDictionary<string, int> FirstRun => _firstRun;

    /// <summary>True once any pre-hook has fired.</summary>
    public bool SawForward => _firstRun.Count > 0;

    /// <summary>True when the input's scale has been measured over the requested batches, or cannot be (not a floating-point tensor).</summary>
    public bool InputDone => _inputRejected || _batches >= _inputBatches;

    /// <summary>Errors raised inside the probe; it then stops measuring, the forward pass is never interrupted.</summary>
    public List<string> Errors { get; } = new();

    /// <summary>Adds a pre-hook to every module of <paramref name="model"/> that TorchSharp can hook.</summary>
    public void Attach(Module model)
    {
        try
        {
            foreach (var (path, module) in model.named_modules().Prepend(("", model)).DistinctBy(m => m.Item1))
            {
                var p = path;
                var order = module.GetType().GetMethod("register_forward_pre_hook", new[] { typeof(Action<Module>) });
                if (order?.Invoke(module, new object[] { (Action<Module>)(_ => Ran(p)) }) is { } handle) _removers.Add(Remover(handle));
                if (InputHook(module, x => OnInput(p, x)) is { } remove) _removers.Add(remove);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private void Ran(string path) => _firstRun.TryAdd(path, _firstRun.Count);

    /// <summary>
    /// The input of the first module to run (the model itself when called through <c>.call()</c>): per-feature mean and
    /// mean square, over the first <see cref="_inputBatches"/> batches, in one transfer per batch.
    /// </summary>
    private void OnInput(string path, Tensor? x)
    {
        if (_inputRejected || _batches >= _inputBatches) return;
        if (_inputModule is null)
        {
            _inputModule = path;
            if (x is null || !x.is_floating_point() || x.dim() == 0 || x.numel() == 0) { _inputRejected = true; return; }
        }
        if (path != _inputModule || x is null) return;
        try
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var rows = FeatureRows(x.detach().to_type(ScalarType.Float64));
            var stats = torch.stack(new[] { rows.sum(new long[] { 0 }), rows.square().sum(new long[] { 0 }) }).cpu();
            var values = stats.data<double>().ToArray();
            int features = (int)rows.shape[1];
            if (_sum is null) { _sum = new double[features]; _sumSquares = new double[features]; }
            if (_sum.Length != features) { _inputRejected = true; return; }   // another input shape: not the data batch
            for (int f = 0; f < features; f++) { _sum[f] += values[f]; _sumSquares![f] += values[features + f]; }
            _rows += rows.shape[0];
            _batches++;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _inputRejected = true;
            Errors.Add($"input scale of {(path.Length == 0 ? "the model" : path)}: {e.Message}");
        }
    }

    /// <summary>
    /// The input as rows × features: features along dim 1 for [N, F] and for images and volumes [N, C, ...], along the
    /// last dim for sequences [N, T, F]; a vector is one feature.
    /// </summary>
    private static Tensor FeatureRows(Tensor x) => x.dim() switch
    {
        1 => x.reshape(-1, 1),
        2 => x,
        3 => x.reshape(-1, x.shape[2]),
        _ => x.movedim(new long[] { 1 }, new long[] { -1 }).reshape(-1, x.shape[1]),
    };

    /// <summary>What the probe measured of the input, or null when it saw no floating-point input batch.</summary>
    public InputScale? Input()
    {
        if (_inputRejected || _sum is null || _rows == 0) return null;
        var mean = new double[_sum.Length];
        var std = new double[_sum.Length];
        for (int f = 0; f < mean.Length; f++)
        {
            mean[f] = _sum[f] / _rows;
            std[f] = Math.Sqrt(Math.Max(0, _sumSquares![f] / _rows - mean[f] * mean[f]));
        }
        return new InputScale(_inputModule!.Length == 0 ? "(model)" : _inputModule, _rows, _batches, mean, std);
    }

    /// <summary>A pre-hook on the first tensor argument of a <c>Module&lt;Tensor, …&gt;</c> (one or two inputs), or null for other modules.</summary>
    private static Action? InputHook(Module module, Action<Tensor?> onInput)
    {
        for (var t = module.GetType(); t != null && t != typeof(Module); t = t.BaseType)
        {
            if (!t.IsGenericType) continue;
            var definition = t.GetGenericTypeDefinition();
            var args = t.GetGenericArguments();
            if (args[0] != typeof(Tensor)) return null;
            string? name = definition == typeof(nn.Module<,>) ? nameof(HookOne) : definition == typeof(nn.Module<,,>) ? nameof(HookTwo) : null;
            if (name is null) return null;
            var method = typeof(FirstForwardProbe).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(args.Skip(1).ToArray());
            return (Action)method.Invoke(null, new object[] { module, onInput })!;
        }
        return null;
    }

    private static Action HookOne<TResult>(nn.Module<Tensor, TResult> module, Action<Tensor?> onInput) =>
        module.register_forward_pre_hook((_, x) => { onInput(x); return null!; }).remove;

    private static Action HookTwo<T2, TResult>(nn.Module<Tensor, T2, TResult> module, Action<Tensor?> onInput) =>
        module.register_forward_pre_hook((_, x, _) => { onInput(x); return null; }).remove;

    private static Action Remover(object handle)
    {
        var remove = handle.GetType().GetMethod("remove");
        return () => remove?.Invoke(handle, null);
    }

    /// <summary>Removes every hook the probe added. Safe to call twice.</summary>
    public void Dispose()
    {
        foreach (var remove in _removers) remove();
        _removers.Clear();
    }
}
