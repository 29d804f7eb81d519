using System.Text;
using GradientHooks.Diagnostics;

namespace GradientHooks.Corpus;

/// <summary>The corpus results as Markdown: one row per run, then the confusion table of expected against diagnosed kinds.</summary>
public static class ConfusionTable
{
    private static readonly FindingKind[] Kinds =
    {
        FindingKind.VanishingGradients, FindingKind.ExplodingGradients, FindingKind.NonFiniteGradients, FindingKind.DyingRelu,
        FindingKind.SaturatedActivations, FindingKind.LossPlateau, FindingKind.LossOscillation,
    };

    /// <summary>
    /// The per-run table (expected verdict, diagnosed problems with severity and layers, the model's metric) and
    /// the confusion table: a row per expected verdict, a column per diagnosed kind (Warning or Critical), each cell
    /// the number of runs; a run with several findings counts in several columns.
    /// </summary>
    public static string Markdown(IReadOnlyList<Verdict> verdicts)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| run | data | model | setup | expected | diagnosed (Warning/Critical) | metric | steps | skipped | right |");
        sb.AppendLine("|---|---|---|---|---|---|---|---:|---:|:---:|");
        foreach (var v in verdicts)
        {
            var found = v.Problems.Count == 0 ? "healthy"
                : string.Join("; ", v.Problems.Select(p => $"{p.Kind} ({p.Severity}{(p.Layers.Count > 0 ? ": " + Layers(p.Layers) : "")})"));
            sb.AppendLine($"| {v.Run.Name} | {v.Run.Data} | {v.Run.Model} | {v.Run.Setup} | {v.Run.Expected?.ToString() ?? "healthy"} | {found} | {v.Outcome.Metric} | {v.Outcome.Steps} | {v.Outcome.SkippedSteps} | {(v.Correct ? "yes" : "**no**: " + v.Reason)} |");
        }
        sb.AppendLine();
        sb.Append("| expected \\ diagnosed | runs | healthy |");
        foreach (var k in Kinds) sb.Append($" {k} |");
        sb.AppendLine();
        sb.Append("|---|---:|---:|");
        foreach (var _ in Kinds) sb.Append("---:|");
        sb.AppendLine();
        foreach (var group in verdicts.GroupBy(v => v.Run.Expected).OrderBy(g => g.Key.HasValue ? (int)g.Key.Value + 1 : 0))
        {
            sb.Append($"| {group.Key?.ToString() ?? "healthy"} | {group.Count()} | {group.Count(v => v.Problems.Count == 0)} |");
            foreach (var k in Kinds)
            {
                var n = group.Count(v => v.Problems.Any(p => p.Kind == k));
                sb.Append(n == 0 ? " · |" : k == group.Key ? $" **{n}** |" : $" {n} |");
            }
            sb.AppendLine();
        }
        var healthy = verdicts.Where(v => v.Run.Healthy).ToList();
        var broken = verdicts.Where(v => !v.Run.Healthy).ToList();
        sb.AppendLine();
        sb.AppendLine($"False alarms on healthy runs: {healthy.Count(v => !v.Correct)} of {healthy.Count}. " +
                      $"Broken runs given the right kind, naming the right layers, with no wrong kind: {broken.Count(v => v.Correct)} of {broken.Count}. " +
                      $"Updates skipped by Clip.SkipSpikes() on the healthy runs: {healthy.Sum(v => v.Outcome.SkippedSteps)} of {healthy.Sum(v => v.Outcome.Steps)}.");
        return sb.ToString();
    }

    private static string Layers(IReadOnlyList<string> layers) =>
        layers.Count <= 4 ? string.Join(", ", layers) : string.Join(", ", layers.Take(3)) + $", … ({layers.Count})";
}
