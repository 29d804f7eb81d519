using System.Text;
using GradientHooks.Diagnostics;

namespace GradientHooks.Corpus;

/// <summary>The corpus results as Markdown: one row per run, then the confusion table of expected against diagnosed kinds.</summary>
public static class ConfusionTable
{
    private static readonly FindingKind[] Kinds =
    {
        FindingKind.GradientsNotZeroed, FindingKind.UnscaledInputs, FindingKind.LearningRateTooHigh, FindingKind.LearningRateTooLow,
        FindingKind.VanishingGradients, FindingKind.ExplodingGradients, FindingKind.NonFiniteGradients, FindingKind.DyingRelu,
        FindingKind.SaturatedActivations, FindingKind.LossPlateau, FindingKind.LossOscillation,
    };

    /// <summary>
    /// The per-run table (expected root cause, the diagnosed story: root cause first, then what follows from it, with
    /// severity and layers; the model's metric) and the confusion table of root causes: a row per expected root cause,
    /// a column per diagnosed root cause (the first Warning or Critical finding), each cell the number of runs.
    /// </summary>
    public static string Markdown(IReadOnlyList<Verdict> verdicts)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| run | data | model | setup | expected root cause | diagnosed: root cause → what follows (Warning/Critical) | metric | steps | skipped | right |");
        sb.AppendLine("|---|---|---|---|---|---|---|---:|---:|:---:|");
        foreach (var v in verdicts)
        {
            var found = v.Problems.Count == 0 ? "healthy"
                : string.Join(" → ", v.Problems.Select(p => $"{p.Kind} ({p.Severity}{(p.Layers.Count > 0 ? ": " + Layers(p.Layers) : "")})"));
            var expected = v.Run.Expected is null ? "healthy" : string.Join(" → ", v.Run.Also.Prepend(v.Run.Expected.Value));
            sb.AppendLine($"| {v.Run.Name} | {v.Run.Data} | {v.Run.Model} | {v.Run.Setup} | {expected} | {found} | {v.Outcome.Metric} | {v.Outcome.Steps} | {v.Outcome.SkippedSteps} | {(v.Correct ? "yes" : "**no**: " + v.Reason)} |");
        }
        var kinds = Kinds.Where(k => verdicts.Any(v => v.Run.Expected == k || Root(v) == k)).ToList();
        sb.AppendLine();
        sb.Append("| expected root cause \\ diagnosed root cause | runs | healthy |");
        foreach (var k in kinds) sb.Append($" {k} |");
        sb.AppendLine();
        sb.Append("|---|---:|---:|");
        foreach (var _ in kinds) sb.Append("---:|");
        sb.AppendLine();
        foreach (var group in verdicts.GroupBy(v => v.Run.Expected).OrderBy(g => g.Key.HasValue ? Array.IndexOf(Kinds, g.Key.Value) + 1 : 0))
        {
            int healthy = group.Count(v => v.Problems.Count == 0);
            sb.Append($"| {group.Key?.ToString() ?? "healthy"} | {group.Count()} | {(group.Key is null ? $"**{healthy}**" : healthy == 0 ? "·" : healthy.ToString())} |");
            foreach (var k in kinds)
            {
                var n = group.Count(v => Root(v) == k);
                sb.Append(n == 0 ? " · |" : k == group.Key ? $" **{n}** |" : $" {n} |");
            }
            sb.AppendLine();
        }
        var healthyRuns = verdicts.Where(v => v.Run.Healthy).ToList();
        var broken = verdicts.Where(v => !v.Run.Healthy).ToList();
        sb.AppendLine();
        sb.AppendLine($"False alarms on healthy runs: {healthyRuns.Count(v => !v.Correct)} of {healthyRuns.Count}. " +
                      $"Broken runs whose diagnosis tells the right story (the right root cause first, naming the right layers, every other problem following from it): {broken.Count(v => v.Correct)} of {broken.Count}. " +
                      $"Updates skipped by Clip.SkipSpikes() on the healthy runs: {healthyRuns.Sum(v => v.Outcome.SkippedSteps)} of {healthyRuns.Sum(v => v.Outcome.Steps)}.");
        return sb.ToString();
    }

    private static FindingKind? Root(Verdict v) => v.Problems.Count == 0 ? null : v.Problems[0].Kind;

    private static string Layers(IReadOnlyList<string> layers) =>
        layers.Count <= 4 ? string.Join(", ", layers) : string.Join(", ", layers.Take(3)) + $", … ({layers.Count})";
}
