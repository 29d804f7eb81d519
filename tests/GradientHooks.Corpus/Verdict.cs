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
        var remedies = RemedyCheck.Problems(outcome);
        if (remedies.Count > 0) (correct, reason) = (false, string.Join("; ", remedies.Prepend(reason).Where(r => r.Length > 0)));
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
            if (problems.Count == 0) reasons.Add($"expected {run.Expected}, found healthy");
            else
            {
                var root = problems[0];
                if (root.Kind != run.Expected || root.Cause is not null)
                    reasons.Add($"expected the root cause {run.Expected}, found {root.Kind}{(root.Cause is { } c ? $" (following from {c})" : "")} first");
                var story = problems.Where(p => p.Kind == run.Expected || run.Also.Contains(p.Kind)).ToList();
                var missing = run.ExpectedLayers.Where(l => !story.Any(p => p.Layers.Contains(l))).ToList();
                if (missing.Count > 0) reasons.Add($"{string.Join("/", run.Also.Prepend(run.Expected!.Value))} do not name {string.Join(", ", missing)} (name {string.Join(", ", story.SelectMany(p => p.Layers).Distinct())})");
                foreach (var kind in run.Also.Where(k => problems.All(p => p.Kind != k))) reasons.Add($"expected {kind} following from {run.Expected}, not found");
            }
            var wrong = problems.Where(p => p.Kind != run.Expected && !run.Also.Contains(p.Kind) && !run.Tolerated.Contains(p.Kind)).ToList();
            if (wrong.Count > 0) reasons.Add($"wrong kind: {string.Join(", ", wrong.Select(p => $"{p.Kind} ({p.Summary})"))}");
            var loose = problems.Skip(1).Where(p => p.Cause is null).ToList();
            if (loose.Count > 0) reasons.Add($"not one story: {string.Join(", ", loose.Select(p => p.Kind))} follow{(loose.Count == 1 ? "s" : "")} from nothing");
        }
        return (reasons.Count == 0, string.Join("; ", reasons));
    }
}
