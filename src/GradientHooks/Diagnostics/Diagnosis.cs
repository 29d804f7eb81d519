using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GradientHooks.Diagnostics;

/// <summary>
/// The result of <see cref="GradientMonitor.Diagnose"/>: findings (most severe first), a per-layer summary, and
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

    /// <summary>Findings, most severe first.</summary>
    public IReadOnlyList<Finding> Findings { get; }

    /// <summary>Per-layer medians over the window, first layer first.</summary>
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

    /// <summary>A readable report: a table per layer, then each finding with its evidence and remedies.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.AppendLine(HasEnoughData
            ? $"Gradient diagnosis over steps {FirstStep}–{LastStep} ({StepsAnalyzed} captured): {(IsHealthy ? "healthy" : $"{Findings.Count(f => f.Severity != Severity.Info)} problem(s)")}"
            : $"Gradient diagnosis: not enough data ({StepsAnalyzed} captured step(s))");
        if (Layers.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine($"  {"layer",-16} {"grad RMS",10} {"grad norm",10} {"vs last",9} {"update",9} {"dead",6}");
            foreach (var l in Layers)
                sb.AppendLine($"  {l.Layer,-16} {l.FlowingRms,10:0.00e+0} {l.GradientNorm,10:0.00e+0} {(double.IsNaN(l.RatioToLast) ? "-" : l.RatioToLast.ToString("0.0e+0")),9} {(l.UpdateRatio is double u ? u.ToString("0.0e+0") : "-"),9} {(l.DeadUnitFraction is double d ? d.ToString("P0") : "-"),6}");
        }
        foreach (var f in Findings)
        {
            sb.AppendLine();
            sb.AppendLine($"[{f.Severity}] {f.Summary}");
            foreach (var e in f.Evidence) sb.AppendLine($"    evidence: {e}");
            foreach (var r in f.Remedies) sb.AppendLine($"    remedy:   {r.Title}: {r.Detail}");
        }
        return sb.ToString();
    }

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
    /// "findings": [{ "kind", "severity", "summary", "layers", "evidence", "remedies": [{ "title", "detail", "kind" }] }] }</c>;
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
