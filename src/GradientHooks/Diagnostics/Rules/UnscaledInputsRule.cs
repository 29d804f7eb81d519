namespace GradientHooks.Diagnostics.Rules;

/// <summary>
/// Inputs or targets on a raw scale, from what the monitor measured at the start (<see cref="ModelProfile.Input"/>: the
/// per-feature scale of the first batches the model ran on) and the first loss: features whose root mean square exceeds
/// <see cref="DiagnosticThresholds.InputScale"/>, and a first loss above <see cref="DiagnosticThresholds.LargeFirstLoss"/>
/// (a mean squared error starts near the mean square of the target). Information when the model trains anyway;
/// <see cref="CausalOrder"/> makes it the root cause, at their severity, of the problems it explains (an explosion,
/// NaN, dead or saturated units). Never raised on standardised or min-max scaled data.
/// </summary>
internal sealed class UnscaledInputsRule : IDiagnosticRule
{
    private const int Shown = 4;

    public IEnumerable<Finding> Evaluate(DiagnosisContext c)
    {
        var t = c.Thresholds;
        var input = c.Profile?.Input;
        var evidence = new List<string>();
        var raw = new List<int>();
        if (input is not null)
        {
            raw = Enumerable.Range(0, input.Features).Where(f => input.Rms(f) > t.InputScale).OrderByDescending(input.Rms).ToList();
            if (raw.Count > 0)
            {
                evidence.Add($"the input of {input.Module} ({input.Batches} batch(es), {input.Rows} rows): {raw.Count} of {input.Features} feature(s) with a root mean square above {t.InputScale:0.#}: " +
                    string.Join(", ", raw.Take(Shown).Select(f => $"feature {f} (mean {input.Mean[f]:0.00e+0}, std {input.Std[f]:0.00e+0})")) + (raw.Count > Shown ? $" and {raw.Count - Shown} more" : ""));
                var spread = Enumerable.Range(0, input.Features).Select(f => input.Std[f]).Where(s => s > 0).ToList();
                if (spread.Count >= 2 && spread.Max() / spread.Min() >= 1e3)
                    evidence.Add($"the features' standard deviations span ×{spread.Max() / spread.Min():0.0e+0} ({spread.Min():0.00e+0} to {spread.Max():0.00e+0}): one learning rate cannot suit them all");
            }
        }
        var firstLoss = c.AllLosses.Count > 0 ? c.AllLosses[0] : default;
        bool bigLoss = c.AllLosses.Count > 0 && firstLoss.Loss > t.LargeFirstLoss;
        if (bigLoss)
            evidence.Add($"the first loss was {firstLoss.Loss:0.00e+0} at step {firstLoss.Step} (threshold {t.LargeFirstLoss:0.#e+0}): a mean squared error starts near the mean square of (output − target), so the untrained model's outputs or the target are of the order of {Math.Sqrt(firstLoss.Loss):0.0e+0}; with standardised inputs and targets it starts near 1");
        if (evidence.Count == 0) yield break;
        if (raw.Count > 0) evidence.Add("a layer's pre-activations scale with its inputs: raw features of size 1e2–1e4 saturate sigmoid/tanh units, and make the gradients (and a plain SGD step) as large");

        string what = raw.Count > 0 ? "Inputs on a raw scale" : "Target (or outputs) on a raw scale";
        var detail = raw.Count > 0 && input is not null
            ? $"feature {raw[0]} is of the order of {input.Rms(raw[0]):0.0e+0} where a standardised feature is of the order of 1"
            : $"the first loss was {firstLoss.Loss:0.0e+0}";
        var first = c.Profile?.LayerOrder?.Layers.FirstOrDefault();
        yield return new Finding(FindingKind.UnscaledInputs, Severity.Info, $"{what}: {detail}.",
            first is null ? Array.Empty<string>() : new[] { first }, evidence, new List<Remedy> { Remedies.StandardizeInputs })
        { Since = c.History.Count > 0 ? c.History[0].Step : null };
    }
}
