using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Precision;

/// <summary>
/// Float32 master weights for a model held in float16 or bfloat16 (Micikevicius et al. 2018, "Mixed Precision
/// Training"): the optimizer steps float32 copies of the low-precision parameters, so its state is float32 and updates
/// smaller than half a float16 ulp of the weight are not lost; after each applied step the guard writes the copies back
/// into the model, rounded to its precision. Parameters already in float32 or float64 are their own master (shared, not
/// copied), so a float32 model works unchanged and a mixed one (BatchNorm kept in float32) works too.
/// <code>
/// model.to(ScalarType.Float16);
/// using var monitor = GradientMonitor.Attach(model);
/// var master = new MasterWeights(model);
/// var optimizer = monitor.Guard(torch.optim.Adam(master.parameters(), 1e-3), Clip.GlobalNorm(1),
///     new GuardOptions { LossScaler = new LossScaler(), MasterWeights = master });
/// </code>
/// The guard copies each low-precision gradient into its float32 master (divided by the loss scale, in float32) inside
/// the monitor's capture; clipping policies then act on the master gradients.
/// </summary>
public sealed class MasterWeights : IDisposable
{
    private readonly Parameter[] _model;
    private readonly Parameter[] _master;
    private readonly bool[] _copied;
    private bool _disposed;

    /// <summary>Creates float32 copies of <paramref name="model"/>'s trainable float16/bfloat16 parameters (attach the monitor and create these after converting the model).</summary>
    /// <exception cref="ArgumentException">The model has no trainable parameter.</exception>
    public MasterWeights(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
        if (named.Length == 0)
            throw new ArgumentException($"MasterWeights: '{GradientMonitor.ModelName(model)}' has no trainable parameters.", nameof(model));
        Names = named.Select(p => p.name).ToArray();
        _model = named.Select(p => p.parameter).ToArray();
        _copied = _model.Select(p => FloatFormat.IsLowPrecision(p.dtype)).ToArray();
        _master = new Parameter[_model.Length];
        using var noGrad = torch.no_grad();
        for (int i = 0; i < _model.Length; i++)
            _master[i] = _copied[i]
                ? new Parameter(_model[i].detach().to_type(ScalarType.Float32).clone().DetachFromDisposeScope(), requires_grad: true)
                : _model[i];
    }

    /// <summary>The trainable parameters' names, in the model's order (the monitor's).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>What the optimizer must step: the float32 copies, and the parameters that were float32 already.</summary>
    public IEnumerable<Parameter> parameters() => _master;

    /// <summary>The master of each trainable parameter, in the model's order.</summary>
    public IReadOnlyList<Parameter> Parameters => _master;

    /// <summary>Number of parameters held as float32 copies (the model's float16/bfloat16 ones).</summary>
    public int CopiedCount => _copied.Count(c => c);

    /// <summary>Elements held as float32 copies: the extra memory is 4 bytes each.</summary>
    public long CopiedElements => _model.Where((_, i) => _copied[i]).Sum(p => p.numel());

    internal IReadOnlyList<Parameter> ModelParameters => _model;

    internal bool IsCopied(int i) => _copied[i];

    /// <summary>
    /// Sets master i's gradient to the model's (<paramref name="gradient"/>) times <paramref name="inverseScale"/>, in
    /// float32; for a shared parameter, scales its gradient in place. Call under no_grad.
    /// </summary>
    internal void SetGradient(int i, Tensor gradient, float inverseScale)
    {
        ThrowIfDisposed();
        if (!_copied[i])
        {
            if (inverseScale != 1f) gradient.mul_(inverseScale);
            return;
        }
        var master = _master[i];
        var g = master.grad;
        if (g is null || g.IsInvalid || !g.shape.SequenceEqual(master.shape))
        {
            master.grad = torch.empty_like(master).DetachFromDisposeScope();
            g = master.grad!;
        }
        g.copy_(gradient);
        if (inverseScale != 1f) g.mul_(inverseScale);
    }

    /// <summary>Writes every float32 master back into its low-precision parameter (rounded to nearest). Call under no_grad.</summary>
    internal void CopyToModel()
    {
        ThrowIfDisposed();
        for (int i = 0; i < _model.Length; i++)
            if (_copied[i]) _model[i].copy_(_master[i]);
    }

    /// <summary>Reads the model's current weights into the masters (after the model was loaded or restored from elsewhere). Call under no_grad.</summary>
    public void CopyFromModel()
    {
        ThrowIfDisposed();
        using var noGrad = torch.no_grad();
        for (int i = 0; i < _model.Length; i++)
            if (_copied[i]) _master[i].copy_(_model[i]);
    }

    private void ThrowIfDisposed()
    {
        if (_disposed) throw new ObjectDisposedException(nameof(MasterWeights), "These MasterWeights were disposed; create new ones from the model.");
    }

    /// <summary>Frees the float32 copies.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (int i = 0; i < _master.Length; i++)
            if (_copied[i]) _master[i].Dispose();
    }
}
