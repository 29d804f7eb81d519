using GradientHooks.Diagnostics;

namespace GradientHooks.Corpus;

/// <summary>How a run's diagnosis compares with the verdict it must get.</summary>
/// <param name="Run">The run.</param>
/// <param name="Outcome">What it produced.</param>
/// <param name="Problems">Its Warning and Critical findings.</param>
/// <param name="Correct">True when the diagnosis is the expected verdict.</param>
/// <param name="Reason">Why it is wrong (empty when correct).</param>
public sealed record Verdict(CorpusRun Run, RunOutcome Outcome, IReadOnlyList<Finding> Problems, bool Correct, string Reason)
{
    /// <summary>The problem kinds found, most severe first; "healthy" when there are none.</summary>
    public string Found => Problems.Count == 0 ? "healthy"
        : string.Join(", ", Problems.Select(p => $"{p.Kind} ({p.Severity})"));

    /// <summary>Judges <paramref name="outcome"/> against what <paramref name="run"/> must get.</summary>
    public static Verdict Judge(CorpusRun run, RunOutcome outcome)
    {
        var (correct, reason) = Check(run, outcome.Diagnosis.Findings, outcome.Diagnosis.HasEnoughData, outcome.SkippedSteps);
        return new Verdict(run, outcome, outcome.Diagnosis.Findings.Where(f => f.Severity != Severity.Info).ToList(), correct, reason);
    }

    /// <summary>The rule of <see cref="Judge"/> on bare findings: whether they are the verdict <paramref name="run"/> must get, and why not.</summary>
    public static (bool Correct, string Reason) Check(CorpusRun run, IReadOnlyList<Finding> findings, bool hasEnoughData, long skippedSteps = 0)
    {
        var problems = findings.Where(f => f.Severity != Severity.Info).ToList();
        var reasons = new List<string>();
        var text = string.Join("\n", findings.SelectMany(f => f.Evidence.Prepend(f.Summary)));
        if (text.Contains("Infinity times", StringComparison.Ordinal) || text.Contains("∞ times", StringComparison.Ordinal))
            reasons.Add("a finding divides by an exact zero (\"Infinity times\")");
        if (run.Healthy)
        {
            if (!hasEnoughData) reasons.Add("not enough data to call it healthy");
            if (problems.Count > 0) reasons.Add($"false alarm: {string.Join(", ", problems.Select(p => $"{p.Kind} ({p.Severity}): {p.Summary}"))}");
            if (skippedSteps > 0) reasons.Add($"the guard skipped {skippedSteps} update(s) of a healthy run (Clip.SkipSpikes must not fire on normal steps)");
        }
        else
        {
            var hit = problems.FirstOrDefault(p => p.Kind == run.Expected);
            if (hit is null) reasons.Add($"expected {run.Expected}, found {(problems.Count == 0 ? "healthy" : string.Join(", ", problems.Select(p => p.Kind)))}");
            else
            {
                var missing = run.ExpectedLayers.Where(l => !hit.Layers.Contains(l)).ToList();
                if (missing.Count > 0) reasons.Add($"{run.Expected} does not name {string.Join(", ", missing)} (names {string.Join(", ", hit.Layers)})");
            }
            var wrong = problems.Where(p => p.Kind != run.Expected && !run.Tolerated.Contains(p.Kind)).ToList();
            if (wrong.Count > 0) reasons.Add($"wrong kind: {string.Join(", ", wrong.Select(p => $"{p.Kind} ({p.Summary})"))}");
        }
        return (reasons.Count == 0, string.Join("; ", reasons));
    }
}
