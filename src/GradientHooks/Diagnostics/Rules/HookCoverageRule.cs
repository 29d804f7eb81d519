namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Says when the activation hooks see nothing, instead of staying silent: hooked activation modules whose forward
/// hook never fired over the captured steps (the model's <c>forward()</c> calls them with <c>.forward()</c>, which
/// TorchSharp does not hook), or a model with Linear/Conv layers and no activation module at all (functional
/// activations). Information, with what is still measured (dead units, from the gradients) and what is not
/// (per-batch dead and saturated outputs).
/// </summary>
internal sealed class HookCoverageRule : IDiagnosticRule
{
    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var p = c.Profile;
        if (p is null || p.CapturedSteps < c.Thresholds.MinSteps) yield break;
        var silent = p.SilentActivations;
        if (silent.Count > 0)
        {
            var names = string.Join(", ", silent.Select(a => a.Path));
            yield return new Finding(FindingKind.ActivationsNotObserved, Severity.Info,
                $"The forward hooks on {names} never fired in {p.CapturedSteps} captured steps: forward() calls {(silent.Count == 1 ? "it" : "them")} with .forward(), which bypasses hooks.",
                silent.Select(a => a.Path).ToList(),
                new[]
                {
                    $"{silent.Count} of {p.Activations.Count(a => a.Hooked)} hooked activation modules silent ({string.Join(", ", silent.Select(a => $"{a.Path}: {a.Type}"))})",
                    "still measured, from the gradients: dead Linear/Conv units (StepRecord.Units); not measured: per-batch dead and saturated outputs (StepRecord.Activations)",
                },
                new RemedyAdvisor(p).For(RemedyKind.CallModules));
        }
        else if (p.ActivationsAreFunctional && p.Layers.Count >= 2)
            yield return new Finding(FindingKind.ActivationsNotObserved, Severity.Info,
                "The model has no activation module: its activations are functional calls, which no hook can see.",
                Array.Empty<string>(),
                new[]
                {
                    p.FunctionalActivations.Count > 0
                        ? "functional activations found in forward(): " + string.Join(", ", p.FunctionalActivations.Select(f => $"{f.Method} calls {f.Function} ({f.Calls}×)"))
                        : "no activation function call was found in forward() either: the model may be linear, or apply activations through helpers of other types",
                    "still measured, from the gradients: dead Linear/Conv units (exactly zero gradient rows); not measured: per-batch dead and saturated outputs",
                    "partial saturation of functional sigmoid/tanh cannot be told apart from a small upstream gradient without the activations; use activation modules (nn.Sigmoid(), nn.ReLU()) called through .call() to see it",
                },
                Array.Empty<Remedy>());
    }
}
