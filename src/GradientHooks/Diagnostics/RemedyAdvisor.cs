using GradientHooks.Initialization;

namespace GradientHooks.Diagnostics;

/// <summary>
/// Chooses the remedies of a finding for the model in front of it (<see cref="ModelProfile"/>): nothing that is
/// already applied (He initialisation in place, normalisation present, the guard already clipping), and for each
/// fix a call that works on this model (the Sequential helpers on a Sequential, the in-place swap on a custom
/// module) or, where no call can reach it (functional activations), the code change to make in <c>forward()</c>.
/// Without a profile the catalogue's general remedies (<see cref="Remedies"/>) are used.
/// </summary>
internal sealed class RemedyAdvisor
{
    private readonly ModelProfile? _p;

    public RemedyAdvisor(ModelProfile? profile) => _p = profile;

    /// <summary>The remedies of <paramref name="kinds"/>, in order, each fitted to the model; those that do not apply are left out.</summary>
    public List<Remedy> For(params RemedyKind[] kinds)
    {
        var list = new List<Remedy>();
        foreach (var kind in kinds)
            if (Fit(kind) is { } r && list.All(x => x.Detail != r.Detail)) list.Add(r);
        return list;
    }

    private Remedy? Fit(RemedyKind kind) => kind switch
    {
        RemedyKind.HeInit => _p?.HeInitialized == true ? null : Remedies.HeInit,
        RemedyKind.XavierInit => Remedies.XavierInit,
        RemedyKind.SwapToLeakyRelu => SwapToLeakyRelu(),
        RemedyKind.SwapToRelu => SwapToRelu(),
        RemedyKind.BatchNorm => BatchNorm(),
        RemedyKind.GlobalNormClipping => Clipping(Remedies.GlobalNormClipping),
        RemedyKind.SkipNonFinite => _p?.Clipping?.Contains("SkipNonFinite", StringComparison.Ordinal) == true ? null : Remedies.SkipNonFinite,
        RemedyKind.LowerLearningRate => FromRangeTest(lower: true) ?? Remedies.LowerLearningRate,
        RemedyKind.RaiseLearningRate => FromRangeTest(lower: false) ?? Remedies.RaiseLearningRate,
        RemedyKind.RangeTest => _p?.RangeTest is null ? Remedies.RangeTest : null,
        RemedyKind.CheckInputs => Remedies.CheckInputs,
        RemedyKind.CallModules => CallModules(),
        RemedyKind.Rollback => _p?.RollsBack == true ? null : Remedies.Rollback,
        RemedyKind.LossScaling => _p?.LossScaling is null ? Remedies.LossScaling : null,
        RemedyKind.MasterWeights => _p?.MasterWeights == true ? null : Remedies.MasterWeights,
        _ => null,
    };

    /// <summary>
    /// The rate a range test suggested, when one ran on this model and it points the same way as the finding (below the
    /// rate in force for a rate too high, above it for one too low); null otherwise.
    /// </summary>
    private Remedy? FromRangeTest(bool lower)
    {
        if (_p?.RangeTest is not { Suggested: double rate } test) return null;
        if (_p.LearningRate is double now && (lower ? rate >= now : rate <= now)) return null;
        return Remedies.LearningRateFromRangeTest(test, rate, _p.LearningRate);
    }

    /// <summary>Lower the rate: to the range test's suggestion when one ran and it is lower, else by <paramref name="factor"/>; and the range test to run when none did.</summary>
    public IEnumerable<Remedy> LowerLearningRateBy(double factor, string why)
    {
        yield return FromRangeTest(lower: true) ?? Remedies.LowerLearningRateBy(factor, why);
        if (_p?.RangeTest is null) yield return Remedies.RangeTest;
    }

    /// <summary>Raise the rate: to the range test's suggestion when one ran and it is higher, else by <paramref name="factor"/>; and the range test to run when none did.</summary>
    public IEnumerable<Remedy> RaiseLearningRateBy(double factor, string why)
    {
        yield return FromRangeTest(lower: false) ?? Remedies.RaiseLearningRateBy(factor, why);
        if (_p?.RangeTest is null) yield return Remedies.RangeTest;
    }

    /// <summary>The recurrent variant of norm clipping (Pascanu et al. 2013), fitted like the plain one.</summary>
    public Remedy? RecurrentClipping() => Clipping(Remedies.RecurrentClipping);

    private Remedy? Clipping(Remedy general)
    {
        if (_p is null || !_p.ClipsGradients) return general;
        return new Remedy("Tighter clipping",
            $"The guard already applies {_p.Clipping}; the norms above were measured before it. Lower its limit, or the learning rate, so that fewer steps reach it") { Kind = RemedyKind.GlobalNormClipping };
    }

    private Remedy? SwapToLeakyRelu()
    {
        if (_p is null) return Remedies.SwapToLeakyRelu;
        var relus = _p.Activations.Where(a => a.Activation == Activation.ReLU).ToList();
        if (relus.Count > 0)
            return new Remedy("LeakyReLU or ELU",
                $"A negative slope keeps a gradient flowing through units that would be dead. {Swap(Activation.ReLU, Activation.LeakyReLU)} replaces {Names(relus)}{(_p.IsSequential ? "" : " in place (fields, ModuleList/ModuleDict entries, nested Sequentials) and reports functional calls it cannot reach")}")
            { Kind = RemedyKind.SwapToLeakyRelu, From = Activation.ReLU, To = Activation.LeakyReLU };
        var calls = _p.FunctionalActivations.Where(f => f.Activation == Activation.ReLU).ToList();
        if (calls.Count == 0 && _p.IsSequential) return null;   // no ReLU anywhere: nothing to swap
        var where = calls.Count > 0 ? string.Join(", ", calls.Select(f => $"{f.Method} ({f.Function})")) : "forward()";
        return new Remedy("LeakyReLU or ELU",
            $"A negative slope keeps a gradient flowing through units that would be dead. The model has no ReLU module, so its activations are functional calls: in {where}, write functional.leaky_relu(x, 0.01) (or functional.elu(x)) where it calls relu")
        { Kind = RemedyKind.SwapToLeakyRelu, From = Activation.ReLU, To = Activation.LeakyReLU };
    }

    /// <summary>
    /// Swap the saturating activation the model actually has (Tanh modules get <c>Activation.Tanh</c>, not Sigmoid), by the
    /// call that reaches them: a new Sequential for a Sequential, in place for a custom module, the line to change for
    /// functional calls. None for a recurrent model whose only tanh/sigmoid are inside its RNN/LSTM/GRU cells.
    /// </summary>
    private Remedy? SwapToRelu()
    {
        if (_p is null) return Remedies.SwapToRelu;
        const string Why = "σ'(x) ≤ 1/4 and tanh'(x) ≤ 1 fall to 0 away from 0, shrinking the gradient at every layer; ReLU's derivative is 1 for x > 0.";
        var saturating = _p.Activations.Where(a => a.Activation is Activation.Sigmoid or Activation.Tanh).ToList();
        if (saturating.Count > 0)
        {
            var from = saturating.GroupBy(a => a.Activation).OrderByDescending(g => g.Count()).First().Key;
            var other = saturating.Where(a => a.Activation != from).Select(a => a.Activation).Distinct().ToList();
            return new Remedy("Non-saturating activation",
                $"{Why} {Swap(from, Activation.ReLU)} replaces {Names(saturating.Where(a => a.Activation == from).ToList())}{(_p.IsSequential ? "" : " in place")}" +
                (other.Count > 0 ? $" (and likewise Activation.{other[0]})" : "") + "; then Init.Apply(model, InitScheme.HeNormal)")
            { Kind = RemedyKind.SwapToRelu, From = from, To = Activation.ReLU };
        }
        var calls = _p.FunctionalActivations.Where(f => f.Activation is Activation.Sigmoid or Activation.Tanh).ToList();
        if (calls.Count == 0 && (_p.Recurrent || _p.IsSequential)) return null;   // the tanh/sigmoid are inside recurrent cells, or there are none
        var where = calls.Count > 0 ? string.Join(", ", calls.Select(f => $"{f.Method} ({f.Function})")) : "forward()";
        var called = calls.Select(f => f.Activation).Distinct().ToList();
        return new Remedy("Non-saturating activation",
            $"{Why} The model has no sigmoid/tanh module, so its activations are functional calls: in {where}, write functional.relu(x) where it calls {(called.Count == 1 ? called[0].ToString().ToLowerInvariant() : "sigmoid or tanh")}, then Init.Apply(model, InitScheme.HeNormal)")
        { Kind = RemedyKind.SwapToRelu, From = called.Count > 0 ? called[0] : null, To = Activation.ReLU };
    }

    /// <summary>The call that swaps <paramref name="from"/> for <paramref name="to"/>: a new Sequential, or in place for any other module.</summary>
    private string Swap(Activation from, Activation to) => _p is { IsSequential: true }
        ? $"model = ActivationSwap.Replace(model, Activation.{from}, Activation.{to}) (a new Sequential sharing the weights)"
        : $"ActivationSwap.Replace(model, Activation.{from}, Activation.{to})";

    private Remedy? BatchNorm()
    {
        if (_p is null || _p.IsSequential) return _p?.HasNormalization == true ? null : Remedies.BatchNorm;
        if (_p.HasNormalization) return null;
        var hidden = _p.Layers.Take(Math.Max(0, _p.Layers.Count - 1)).ToList();
        if (hidden.Count == 0) return null;
        var all = hidden.Select((l, i) => $"bn{i + 1} = {NormFor(l)} after {Code(l.Layer)}").ToList();
        var fields = all.Count <= 4 ? string.Join(", ", all) : string.Join(", ", all.Take(2)) + $", … , {all[^1]} ({all.Count} in all)";
        var first = hidden[0];
        return new Remedy("Batch normalization",
            $"Normalising each layer's pre-activations keeps them out of saturation and the per-layer gain near one. Normalization.InsertBatchNorm rewrites only a Sequential; in this {_p.ModelType}, add the fields {fields} and call each between its layer and the activation in forward(), e.g. act(bn1.forward({Code(first.Layer)}.forward(x))) (LayerNorm for recurrent nets or small batches)") { Kind = RemedyKind.BatchNorm };
    }

    private Remedy? CallModules()
    {
        var silent = _p?.SilentActivations;
        if (silent is null || silent.Count == 0) return null;
        var a = silent[0];
        return new Remedy("Call activation modules through .call()",
            $"Forward hooks fire only through Module.call: in forward(), write {a.Path}.call(x) instead of {a.Path}.forward(x){(silent.Count > 1 ? $" (likewise for {Names(silent.Skip(1).ToList())})" : "")}, and the activation statistics (dead and saturated outputs per batch) are recorded") { Kind = RemedyKind.CallModules };
    }

    /// <summary>A module path as C# reaches it: <c>body.0</c> (a ModuleList entry) is <c>body[0]</c>.</summary>
    private static string Code(string path) => System.Text.RegularExpressions.Regex.Replace(path, @"\.(\d+)", "[$1]");

    private static string NormFor(LayerScale l) => l.Module switch
    {
        "Conv2d" => $"BatchNorm2d({l.Units})",
        "Conv3d" => $"BatchNorm3d({l.Units})",
        _ => $"BatchNorm1d({l.Units})",
    };

    private static string Names(IReadOnlyList<ActivationModule> modules) =>
        modules.Count <= 4 ? string.Join(", ", modules.Select(m => m.Path)) : string.Join(", ", modules.Take(3).Select(m => m.Path)) + $" and {modules.Count - 3} more";
}
