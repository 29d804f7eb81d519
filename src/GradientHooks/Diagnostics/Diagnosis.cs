using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GradientHooks.Diagnostics;

/// <summary>
/// The result of <see cref="GradientMonitor.Diagnose"/>: findings (root cause first), a per-layer summary, and
/// whether there was enough data to judge.
/// </summary>
public sealed class Diagnosis
{
    internal Diagnosis(IReadOnlyList<Finding> findings, IReadOnlyList<LayerSummary> layers, bool hasEnoughData, int stepsAnalyzed, long firstStep, long lastStep)
    {
        Findings = findings;
        Layers = layers;
        HasEnoughData = hasEnoughData;
        StepsAnalyzed = stepsAnalyzed;
        FirstStep = firstStep;
        LastStep = lastStep;
    }

    /// <summary>Findings in causal order: each root cause (by when its evidence began), then what follows from it (<see cref="Finding.Cause"/>); information last.</summary>
    public IReadOnlyList<Finding> Findings { get; }

    /// <summary>Per-layer medians over the window, in data-flow order (input side first).</summary>
    public IReadOnlyList<LayerSummary> Layers { get; }

    /// <summary>True when the window held at least <see cref="DiagnosticThresholds.MinSteps"/> full steps.</summary>
    public bool HasEnoughData { get; }

    /// <summary>Number of full steps in the window.</summary>
    public int StepsAnalyzed { get; }

    /// <summary>First step of the window.</summary>
    public long FirstStep { get; }

    /// <summary>Last step of the window.</summary>
    public long LastStep { get; }

    /// <summary>True when there was enough data and no finding is a Warning or Critical.</summary>
    public bool IsHealthy => HasEnoughData && Findings.All(f => f.Severity == Severity.Info);

    /// <summary>
    /// The same diagnosis with every remedy restated by <paramref name="restate"/> (return null to drop a remedy):
    /// for a host that wraps the model, such as a trainer whose users change options rather than call
    /// <c>Init.Apply</c> on a network they never see. Match on <see cref="Remedy.Kind"/>.
    /// </summary>
    public Diagnosis WithRemedies(Func<Finding, Remedy, Remedy?> restate)
    {
        ArgumentNullException.ThrowIfNull(restate);
        var findings = Findings.Select(f => f with { Remedies = f.Remedies.Select(r => restate(f, r)).OfType<Remedy>().ToList() }).ToList();
        return new Diagnosis(findings, Layers, HasEnoughData, StepsAnalyzed, FirstStep, LastStep);
    }

    /// <summary>True when a finding of this kind is present.</summary>
    public bool Has(FindingKind kind) => Findings.Any(f => f.Kind == kind);

    /// <summary>The first problem of the causal order: the finding to fix first (null when healthy).</summary>
    public Finding? RootCause => Findings.FirstOrDefault(f => f.Severity != Severity.Info && f.Cause is null);

    /// <summary>Longest layer name shown whole in <see cref="ToString"/>; longer names keep their end (JSON has them whole).</summary>
    private const int MaxNameWidth = 48;

    /// <summary>
    /// A readable report: a table of the layers in data-flow order (the name column as wide as the longest name),
    /// then each finding, root cause first, with when it began, what it follows from, its evidence and remedies.
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.AppendLine(HasEnoughData
            ? $"Gradient diagnosis over steps {FirstStep}–{LastStep} ({StepsAnalyzed} captured): {(IsHealthy ? "healthy" : $"{Findings.Count(f => f.Severity != Severity.Info)} problem(s)")}"
            : Findings.Any(f => f.Severity != Severity.Info)
                ? $"Gradient diagnosis: {Findings.Count(f => f.Severity != Severity.Info)} problem(s); {StepsAnalyzed} usable step(s), too few to judge gradient flow"
                : $"Gradient diagnosis: not enough data ({StepsAnalyzed} captured step(s))");
        if (RootCause is { } root && Findings.Count(f => f.Severity != Severity.Info) > 1)
            sb.AppendLine($"Root cause: {root.Kind}{(root.Since is long s ? $" (since step {s})" : "")}; fix it first.");
        if (Layers.Count > 0)
        {
            int width = Math.Clamp(Layers.Max(l => l.Layer.Length), 5, MaxNameWidth);
            sb.AppendLine();
            sb.AppendLine($"  {"layer".PadRight(width)} {"grad RMS",10} {"grad norm",10} {"vs last",9} {"update",9} {"dead",6}");
            foreach (var l in Layers)
                sb.AppendLine($"  {Fit(l.Layer, width)} {l.FlowingRms,10:0.00e+0} {l.GradientNorm,10:0.00e+0} {(double.IsNaN(l.RatioToLast) ? "-" : l.RatioToLast.ToString("0.0e+0")),9} {(l.UpdateRatio is double u ? u.ToString("0.0e+0") : "-"),9} {(l.DeadUnitFraction is double d ? d.ToString("P0") : "-"),6}");
        }
        foreach (var f in Findings)
        {
            sb.AppendLine();
            sb.AppendLine($"[{f.Severity}] {f.Summary}");
            if (f.Severity != Severity.Info && (f.Since is not null || f.Cause is not null))
                sb.AppendLine($"    {(f.Since is long s ? $"since step {s}" : "")}{(f.Since is not null && f.Cause is not null ? "; " : "")}{(f.Cause is { } cause ? $"follows from {cause}" : "")}");
            foreach (var e in f.Evidence) sb.AppendLine($"    evidence: {e}");
            foreach (var r in f.Remedies) sb.AppendLine($"    remedy:   {r.Title}: {r.Detail}");
        }
        return sb.ToString();
    }

    /// <summary><paramref name="name"/> padded to <paramref name="width"/>, or its last width − 1 characters after an ellipsis.</summary>
    private static string Fit(string name, int width) => name.Length <= width ? name.PadRight(width) : "…" + name[^(width - 1)..];

    /// <summary>
    /// The diagnosis as a self-contained HTML fragment (no script, no external resource; light and dark mode, printable):
    /// the verdict first, the root cause with its first remedy as code, then every finding in causal order with its
    /// evidence and remedies, then the layer table in data-flow order. Notebooks that render objects with a public
    /// <c>ToHtml()</c> (Verso) show it as such; <c>GradientHooks.Reporting.HtmlReport</c> puts it in a page with charts.
    /// </summary>
    public string ToHtml() => DiagnosisHtml.Render(this);

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// Stable JSON: <c>{ "healthy", "hasEnoughData", "stepsAnalyzed", "firstStep", "lastStep",
    /// "layers": [{ "layer", "depth", "gradientRms", "gradientNorm", "ratioToLast", "updateRatio", "flowingRms", "deadUnitFraction", "passesNoGradient" }],
    /// "findings": [{ "kind", "severity", "summary", "layers", "evidence", "remedies": [{ "title", "detail", "kind" }], "since", "cause" }] }</c>,
    /// findings root cause first;
    /// enums as strings, NaN as "NaN".
    /// </summary>
    public string ToJson() => JsonSerializer.Serialize(new
    {
        healthy = IsHealthy,
        hasEnoughData = HasEnoughData,
        stepsAnalyzed = StepsAnalyzed,
        firstStep = FirstStep,
        lastStep = LastStep,
        layers = Layers,
        findings = Findings,
    }, JsonOptions);
}
