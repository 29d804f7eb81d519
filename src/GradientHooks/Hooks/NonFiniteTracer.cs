using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Hooks;

/// <summary>
/// Forward hooks on every module, armed only when needed (<see cref="NonFiniteTraceMode"/>): each training forward pass
/// checks the model's input and then every module output, in the order they complete, for NaN/Inf, until the first
/// non-finite one; modules after it are downstream and not checked. Only modules called through <c>.call()</c> are
/// seen (TorchSharp fires hooks nowhere else). Keeps names and flags only, never a tensor.
/// </summary>
internal sealed class NonFiniteTracer : IDisposable
{
    private readonly Module _model;
    private readonly List<Action> _removers = new();
    private int _budget;
    private bool? _inputNonFinite;
    private string? _first;
    private bool _fired;

    public NonFiniteTracer(Module model, NonFiniteTraceMode mode, int steps)
    {
        _model = model;
        Mode = mode;
        Steps = steps;
        if (mode == NonFiniteTraceMode.EveryStep) Arm();
    }

    public NonFiniteTraceMode Mode { get; }

    /// <summary>Steps the on-demand hooks stay armed.</summary>
    public int Steps { get; }

    public bool Armed => _removers.Count > 0;

    /// <summary>While true the hooks record nothing (a learning-rate range test runs the model; its passes are not training steps).</summary>
    public bool Paused { get; set; }

    /// <summary>Puts the hooks on (no-op when already armed); on-demand hooks stay for <see cref="Steps"/> captures.</summary>
    public void Arm()
    {
        _budget = Steps;
        if (Armed || Mode == NonFiniteTraceMode.Off) return;
        try
        {
            if (_model is Module<Tensor, Tensor> root)
            {
                var pre = root.register_forward_pre_hook((m, input) => { OnInput(m, input); return null!; });
                _removers.Add(pre.remove);
            }
            foreach (var (name, module) in _model.named_modules().Prepend(("", _model)))
            {
                if (module is not Module<Tensor, Tensor> hookable) continue;
                var label = (name.Length == 0 ? "(model output)" : name) + $" ({module.GetType().Name})";
                var handle = hookable.register_forward_hook((m, input, output) => { OnOutput(m, label, output); return null!; });
                _removers.Add(handle.remove);
            }
        }
        catch
        {
            Disarm();
            throw;
        }
        Reset();
    }

    /// <summary>Removes every hook.</summary>
    public void Disarm()
    {
        foreach (var remove in _removers) remove();
        _removers.Clear();
        Reset();
    }

    /// <summary>What the hooks saw since the last call, and a reset; on-demand hooks count down and come off when spent.</summary>
    public (bool Traced, bool? InputNonFinite, string? FirstModule) Take(bool nonFiniteStep)
    {
        var seen = (_fired, _inputNonFinite, _first);
        Reset();
        if (Mode == NonFiniteTraceMode.OnDemand && Armed && (nonFiniteStep && seen._fired || --_budget <= 0)) Disarm();
        return seen;
    }

    private void Reset() { _inputNonFinite = null; _first = null; _fired = false; }

    /// <summary>Writes whether the hooks are on and how many captures they have left (a checkpoint, between steps).</summary>
    public void Write(BinaryWriter writer)
    {
        writer.Write(Armed);
        writer.Write(_budget);
    }

    /// <summary>Puts the hooks on or off as <see cref="Write"/> found them, with the same captures left.</summary>
    public void Read(BinaryReader reader)
    {
        bool armed = reader.ReadBoolean();
        int budget = reader.ReadInt32();
        if (armed) Arm(); else Disarm();
        _budget = budget;
    }

    private void OnInput(Module m, Tensor input)
    {
        if (Paused || !m.training || _first != null) return;
        try { _inputNonFinite = (_inputNonFinite ?? false) || !Finite(input); }
        catch (Exception) { /* a tracer must never break the forward pass */ }
    }

    private void OnOutput(Module m, string label, Tensor output)
    {
        if (Paused || !m.training) return;
        _fired = true;
        if (_first != null) return;
        try { if (!Finite(output)) _first = label; }
        catch (Exception) { /* idem */ }
    }

    private static bool Finite(Tensor t)
    {
        if (!t.is_floating_point() || t.numel() == 0) return true;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return torch.isfinite(t).all().item<bool>();
    }

    public void Dispose() => Disarm();
}
