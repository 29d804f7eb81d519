using GradientHooks.Corpus;

// dotnet run -c Release --project tests/GradientHooks.Corpus [-- run-name ...] [--details] [--trace] [--ratios] [--write-docs]
// Trains every corpus run (or the named ones), prints the confusion table in Markdown, and exits with 1 when any
// verdict is wrong, 2 when ../shared/data is missing. --write-docs puts the table of all runs into docs/diagnosis.md.
var details = args.Contains("--details");
var names = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
var runs = names.Length == 0 ? Corpus.All : names.Select(Corpus.Named).ToList();
var missing = runs.SelectMany(r => r.Files).Distinct().Where(f => !GradientHooks.Corpus.Data.SharedData.Has(f)).ToList();
if (missing.Count > 0)
{
    Console.Error.WriteLine($"The corpus needs ../shared/data next to the checkout; missing: {string.Join(", ", missing)}.");
    return 2;
}
var verdicts = new List<Verdict>();
foreach (var run in runs)
{
    Console.Error.WriteLine($"training {run.Name} ...");
    var verdict = Corpus.Run(run);
    verdicts.Add(verdict);
    Console.Error.WriteLine($"  {verdict.Outcome.Metric}, {verdict.Outcome.Steps} steps, {verdict.Outcome.Elapsed.TotalSeconds:0.0} s: {verdict.Found}{(verdict.Correct ? "" : " WRONG: " + verdict.Reason)}");
    if (details) Console.Error.WriteLine(verdict.Outcome.Diagnosis);
    if (args.Contains("--ratios"))   // per layer: the first five update ratios, the largest and smallest 5-step medians
    {
        var full = verdict.Outcome.History.Where(r => r.IsFull && r.UpdateRatios != null).ToList();
        foreach (var layer in full.SelectMany(r => r.Layers).Select(l => l.Layer).Distinct())
        {
            var u = full.Select(r => r.Layers.FirstOrDefault(l => l.Layer == layer)?.UpdateRatio ?? double.NaN).ToList();
            double RollMax(int w) => Enumerable.Range(0, Math.Max(0, u.Count - w + 1)).Select(i => u.Skip(i).Take(w).OrderBy(v => v).ElementAt(w / 2)).DefaultIfEmpty(double.NaN).Max();
            double RollMin(int w) => Enumerable.Range(0, Math.Max(0, u.Count - w + 1)).Select(i => u.Skip(i).Take(w).OrderBy(v => v).ElementAt(w / 2)).DefaultIfEmpty(double.NaN).Min();
            Console.Error.WriteLine(FormattableString.Invariant($"    {layer,-30} first5 {string.Join(" ", u.Take(5).Select(v => v.ToString("0.0e+0")))}  max5med {RollMax(5):0.0e+0} min5med {RollMin(5):0.0e+0} median {u.OrderBy(v => v).ElementAtOrDefault(u.Count / 2):0.0e+0}"));
        }
    }
    if (args.Contains("--trace"))
        foreach (var r in verdict.Outcome.History)
            Console.Error.WriteLine(FormattableString.Invariant($"    step {r.Step,6} loss {r.Loss,10:G4} norm {r.TotalNorm,10:G4} {(r.HasNonFinite ? "NaN" : "")} {string.Join(" ", r.Layers.Select(l => $"{l.Layer}:{l.Gradient.Rms:G2}"))}{(r.Skipped ? " SKIPPED: " + r.Clipping?.Reason : "")}"));
}
var table = ConfusionTable.Markdown(verdicts);
Console.WriteLine(table);
if (args.Contains("--write-docs"))
{
    if (names.Length > 0) { Console.Error.WriteLine("--write-docs writes the table of every run: give no run names."); return 2; }
    DocsTable.Write(table);
    Console.Error.WriteLine($"wrote the table into {DocsTable.DocsPath}");
}
return verdicts.All(v => v.Correct) ? 0 : 1;
