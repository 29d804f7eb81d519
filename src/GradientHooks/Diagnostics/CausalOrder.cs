namespace GradientHooks.Diagnostics;

/// <summary>
/// Turns a list of findings into one story: each problem (Warning or Critical) that a known cause explains, and that
/// began no earlier than it, gets <see cref="Finding.Cause"/> (the nearest such cause: the latest to begin, so that
/// an explosion → saturation → vanishing reads as a chain); the findings are then ordered root causes first, by when
/// their evidence began, each followed by what follows from it; information comes last.
/// <para>
/// Known causes (a cause always ranks before its consequences, so the relation has no cycle): gradients never zeroed,
/// unscaled inputs and too high a learning rate cause explosions, NaN, oscillation, dead and saturated units and what
/// follows from those; an explosion causes NaN, dead and saturated units, vanishing gradients and a loss that rises or
/// stays flat; dead or saturated units cause vanishing gradients and a flat loss; vanishing gradients and too low a
/// learning rate cause a flat loss. A cause is raised to the severity of the worst problem it leads to (so a cause
/// that is only information in itself, unscaled inputs, becomes a problem when it explains one).
/// </para>
/// </summary>
internal static class CausalOrder
{
    private static readonly FindingKind[] Rank =
    {
        FindingKind.GradientsNotZeroed, FindingKind.UnscaledInputs, FindingKind.LowPrecisionOptimizer, FindingKind.GradientUnderflow,
        FindingKind.LearningRateTooHigh, FindingKind.LearningRateTooLow,
        FindingKind.ExplodingGradients, FindingKind.NonFiniteGradients, FindingKind.LossScaleCollapse, FindingKind.DyingRelu, FindingKind.SaturatedActivations,
        FindingKind.VanishingGradients, FindingKind.LossOscillation, FindingKind.LossPlateau, FindingKind.TrainingRolledBack,
    };

    private static readonly FindingKind[] Instability =
    {
        FindingKind.ExplodingGradients, FindingKind.NonFiniteGradients, FindingKind.LossOscillation, FindingKind.DyingRelu,
        FindingKind.SaturatedActivations, FindingKind.VanishingGradients, FindingKind.LossPlateau, FindingKind.TrainingRolledBack,
        FindingKind.LossScaleCollapse,
    };

    private static readonly Dictionary<FindingKind, FindingKind[]> Leads = new()
    {
        [FindingKind.GradientsNotZeroed] = Instability.Append(FindingKind.LearningRateTooHigh).ToArray(),
        [FindingKind.UnscaledInputs] = Instability.Append(FindingKind.LearningRateTooHigh).ToArray(),
        [FindingKind.LearningRateTooHigh] = Instability,
        // An adaptive optimizer on float16 weights: 0/0 = NaN weights, then NaN gradients, overflowing scaled steps, rollbacks.
        [FindingKind.LowPrecisionOptimizer] = new[]
        {
            FindingKind.NonFiniteGradients, FindingKind.LossScaleCollapse, FindingKind.TrainingRolledBack, FindingKind.LossOscillation,
            FindingKind.LossPlateau, FindingKind.GradientUnderflow, FindingKind.VanishingGradients, FindingKind.DyingRelu,
        },
        // Gradients rounded to 0: no gradient to flow (vanishing, units that look dead), updates of 0, a loss that stays where it was.
        [FindingKind.GradientUnderflow] = new[]
        {
            FindingKind.VanishingGradients, FindingKind.DyingRelu, FindingKind.LearningRateTooLow, FindingKind.LossPlateau,
        },
        [FindingKind.LearningRateTooLow] = new[] { FindingKind.LossPlateau },
        [FindingKind.ExplodingGradients] = new[]
        {
            FindingKind.NonFiniteGradients, FindingKind.DyingRelu, FindingKind.SaturatedActivations, FindingKind.VanishingGradients,
            FindingKind.LossOscillation, FindingKind.LossPlateau, FindingKind.TrainingRolledBack, FindingKind.LossScaleCollapse,
        },
        [FindingKind.NonFiniteGradients] = new[] { FindingKind.TrainingRolledBack, FindingKind.LossOscillation, FindingKind.LossScaleCollapse },
        [FindingKind.DyingRelu] = new[] { FindingKind.VanishingGradients, FindingKind.LossPlateau },
        [FindingKind.SaturatedActivations] = new[] { FindingKind.VanishingGradients, FindingKind.LossPlateau },
        [FindingKind.VanishingGradients] = new[] { FindingKind.LossPlateau },
    };

    /// <summary>True when a finding of kind <paramref name="cause"/> can explain one of kind <paramref name="effect"/>.</summary>
    public static bool CanCause(FindingKind cause, FindingKind effect) => Leads.TryGetValue(cause, out var e) && e.Contains(effect);

    /// <summary>The findings with their causes set, root causes first.</summary>
    public static List<Finding> Arrange(IReadOnlyList<Finding> findings)
    {
        var problems = findings.Where(f => f.Severity != Severity.Info).ToList();
        // Unscaled inputs and large first updates are information in themselves (many models train on raw features, many
        // runs recover from large first steps) and take part when they explain a problem; other information (absorbed
        // spikes, a start-of-run burst) is not a cause.
        var candidates = findings.Where(f => f.Severity != Severity.Info || f.Kind is FindingKind.UnscaledInputs or FindingKind.LearningRateTooHigh).ToList();
        var linked = new Dictionary<Finding, Finding?>(ReferenceEqualityComparer.Instance);
        foreach (var effect in problems)
        {
            var cause = candidates
                .Where(a => !ReferenceEquals(a, effect) && CanCause(a.Kind, effect.Kind) && Began(a) <= Began(effect))
                .OrderByDescending(Began).ThenByDescending(a => RankOf(a.Kind))   // the nearest link: the chain explains the rest
                .FirstOrDefault();
            linked[effect] = cause;
        }
        // A cause is as severe as the worst problem it leads to (an informational cause that explains a problem is a problem).
        var raised = new Dictionary<Finding, Finding>(ReferenceEqualityComparer.Instance);
        Severity Worst(Finding f) => linked.Where(kv => ReferenceEquals(kv.Value, f)).Select(kv => Worst(kv.Key)).Append(f.Severity).Max();
        foreach (var cause in linked.Values.OfType<Finding>().Distinct(ReferenceEqualityComparer.Instance).Cast<Finding>())
            if (Worst(cause) is var worst && worst > cause.Severity) raised[cause] = cause with { Severity = worst };
        Finding Final(Finding f) => raised.TryGetValue(f, out var r) ? r : f;
        Finding? CauseOf(Finding f) => linked.TryGetValue(f, out var c) ? c : null;

        var result = new List<Finding>();
        var placed = new HashSet<Finding>(ReferenceEqualityComparer.Instance);
        // A consequence keeps only remedies its causes do not already give: the cause's (with its numbers) come first and once.
        IEnumerable<FindingKind> Causes(Finding f) => CauseOf(f) is { } c ? Causes(c).Prepend(c.Kind) : Enumerable.Empty<FindingKind>();
        IEnumerable<RemedyKind> Upstream(Finding f) => CauseOf(f) is { } c ? c.Remedies.Select(r => r.Kind).Concat(Upstream(c)) : Enumerable.Empty<RemedyKind>();
        void Place(Finding f)
        {
            if (!placed.Add(f)) return;
            var given = Upstream(f).Where(k => k != RemedyKind.Other).ToHashSet();
            // "Check the learning rate" fits a flat loss with nothing behind it; behind a cause (dead units, vanishing) it misleads.
            if (CauseOf(f) is { Kind: not FindingKind.LearningRateTooLow }) given.Add(RemedyKind.RaiseLearningRate);
            var final = Final(f);
            // What follows from a precision problem (gradients rounded to 0, an optimizer stepping float16) is fixed by
            // fixing the precision: its own remedies (an initialisation, a normalisation) would send the user elsewhere.
            bool precision = Causes(f).Any(k => k is FindingKind.GradientUnderflow or FindingKind.LowPrecisionOptimizer);
            result.Add(final with { Cause = CauseOf(f)?.Kind, Remedies = precision ? Array.Empty<Remedy>() : final.Remedies.Where(r => !given.Contains(r.Kind)).ToList() });
            foreach (var next in linked.Where(kv => ReferenceEquals(kv.Value, f)).Select(kv => kv.Key).OrderBy(Began).ThenBy(x => RankOf(x.Kind)))
                Place(next);
        }
        var roots = findings.Where(f => (f.Severity != Severity.Info || raised.ContainsKey(f)) && CauseOf(f) is null)
            .OrderBy(Began).ThenByDescending(f => Final(f).Severity).ThenBy(f => RankOf(f.Kind));
        foreach (var root in roots) Place(root);
        foreach (var info in findings.Where(f => !placed.Contains(f))) Place(info);
        return result;
    }

    private static long Began(Finding f) => f.Since ?? long.MaxValue;

    private static int RankOf(FindingKind kind) => Array.IndexOf(Rank, kind) is var i && i >= 0 ? i : Rank.Length;
}
