using System.Globalization;
using System.Net;
using System.Text;

namespace GradientHooks.Diagnostics;

/// <summary>
/// A diagnosis as an HTML fragment (no script, no external resource): the verdict first (healthy, or the root cause
/// with its severity, when it began and its first remedy as code), then every finding in causal order with its
/// evidence and remedies, then the layer table in data-flow order. Styles are inline in a <c>&lt;style&gt;</c> scoped to
/// <c>.gh-diagnosis</c>, readable in light and dark mode and printable. The report adds charts and links each finding to
/// the chart that shows its evidence.
/// </summary>
internal static class DiagnosisHtml
{
    public const string Style = """
        .gh-diagnosis { --gh-fg: #1d1f23; --gh-muted: #5b6270; --gh-bg: #ffffff; --gh-card: #f5f6f8; --gh-line: #d9dce1;
          --gh-critical: #b3261e; --gh-warning: #9a6700; --gh-info: #2f5fa5; --gh-ok: #1a7f37; --gh-code: #eef0f3;
          color: var(--gh-fg); background: var(--gh-bg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
        @media (prefers-color-scheme: dark) { .gh-diagnosis { --gh-fg: #e6e8eb; --gh-muted: #a4abb6; --gh-bg: #15171a; --gh-card: #1f2226;
          --gh-line: #3a3f46; --gh-critical: #ff7b72; --gh-warning: #e3b341; --gh-info: #79a8ff; --gh-ok: #56d364; --gh-code: #262a30; } }
        @media print { .gh-diagnosis { --gh-fg: #000; --gh-bg: #fff; --gh-card: #fff; --gh-code: #f3f3f3; } .gh-finding { break-inside: avoid; } }
        .gh-diagnosis h2 { font-size: 1.25em; margin: 1.2em 0 .4em; }
        .gh-verdict { border-left: 6px solid var(--gh-ok); background: var(--gh-card); padding: .8em 1em; border-radius: 6px; }
        .gh-verdict.gh-critical { border-color: var(--gh-critical); } .gh-verdict.gh-warning { border-color: var(--gh-warning); }
        .gh-verdict .gh-headline { font-size: 1.2em; font-weight: 600; }
        .gh-badge { display: inline-block; font-size: .78em; font-weight: 700; padding: .05em .55em; border-radius: 1em; color: var(--gh-bg); vertical-align: .1em; }
        .gh-badge.gh-critical { background: var(--gh-critical); } .gh-badge.gh-warning { background: var(--gh-warning); }
        .gh-badge.gh-info { background: var(--gh-info); } .gh-badge.gh-ok { background: var(--gh-ok); }
        .gh-finding { border: 1px solid var(--gh-line); border-radius: 6px; padding: .6em 1em; margin: .6em 0; }
        .gh-finding.gh-follows { margin-left: 1.6em; }
        .gh-meta { color: var(--gh-muted); font-size: .9em; }
        .gh-finding ul { margin: .3em 0 .3em 1.2em; padding: 0; }
        .gh-diagnosis pre { background: var(--gh-code); padding: .5em .7em; border-radius: 4px; white-space: pre-wrap; word-break: break-word; margin: .3em 0; }
        .gh-diagnosis code { font: .88em/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
        .gh-diagnosis table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: .92em; }
        .gh-diagnosis th, .gh-diagnosis td { border-bottom: 1px solid var(--gh-line); padding: .25em .7em; text-align: right; }
        .gh-diagnosis th:first-child, .gh-diagnosis td:first-child { text-align: left; }
        .gh-diagnosis a { color: var(--gh-info); }
        """;

    /// <summary>The fragment; <paramref name="chartOf"/> gives, for a finding, the id and title of the chart that shows its evidence (null: no link).</summary>
    public static string Render(Diagnosis d, Func<Finding, (string Id, string Title)?>? chartOf = null, bool withStyle = true)
    {
        var sb = new StringBuilder();
        if (withStyle) sb.Append("<style>").Append(Style).Append("</style>");
        sb.Append("<section class=\"gh-diagnosis\">");
        Verdict(sb, d);
        if (d.Findings.Count > 0)
        {
            sb.Append("<h2>Findings</h2>");
            int i = 0;
            foreach (var f in d.Findings) Finding(sb, f, ++i, chartOf?.Invoke(f));
        }
        if (d.Layers.Count > 0) Layers(sb, d);
        sb.Append("</section>");
        return sb.ToString();
    }

    private static void Verdict(StringBuilder sb, Diagnosis d)
    {
        var root = d.RootCause;
        var level = root is null ? (d.HasEnoughData ? "ok" : "info") : Level(root.Severity);
        sb.Append($"<div class=\"gh-verdict gh-{level}\" id=\"verdict\">");
        if (root is null)
        {
            sb.Append(d.HasEnoughData
                ? $"<div class=\"gh-headline\"><span class=\"gh-badge gh-ok\">healthy</span> No problem found over steps {d.FirstStep}–{d.LastStep} ({d.StepsAnalyzed} captured).</div>"
                : $"<div class=\"gh-headline\"><span class=\"gh-badge gh-info\">not enough data</span> {d.StepsAnalyzed} captured step(s): the rules need more.</div>");
            sb.Append("</div>");
            return;
        }
        int problems = d.Findings.Count(f => f.Severity != Severity.Info);
        sb.Append($"<div class=\"gh-headline\"><span class=\"gh-badge gh-{Level(root.Severity)}\">{root.Severity}</span> {E(Capital(root.Title))}{(root.Since is long s ? $" since step {s}" : "")}</div>");
        sb.Append($"<p>{E(root.Summary)}</p>");
        if (problems > 1) sb.Append($"<p class=\"gh-meta\">The root cause of {problems} problems: fix it first, the others follow from it.</p>");
        if (root.Remedies.Count > 0) sb.Append($"<p><b>{E(root.Remedies[0].Title)}</b></p>").Append(Code(root.Remedies[0].Detail));
        sb.Append("</div>");
    }

    private static void Finding(StringBuilder sb, Finding f, int index, (string Id, string Title)? chart)
    {
        sb.Append($"<div class=\"gh-finding{(f.Cause is null ? "" : " gh-follows")}\" id=\"finding-{index}\" data-kind=\"{f.Kind}\" data-severity=\"{f.Severity}\">");
        sb.Append($"<div><span class=\"gh-badge gh-{Level(f.Severity)}\">{f.Severity}</span> <b>{E(Capital(f.Title))}</b> <span class=\"gh-meta\">({f.Kind})</span></div>");
        sb.Append($"<p>{E(f.Summary)}</p>");
        var meta = new List<string>();
        if (f.Since is long since) meta.Add($"since step {since}");
        if (f.Cause is { } cause) meta.Add($"follows from {cause}");
        if (f.Layers.Count > 0) meta.Add("layers: " + E(string.Join(", ", f.Layers)));
        if (chart is { } c) meta.Add($"evidence on the chart: <a href=\"#{c.Id}\">{E(c.Title)}</a>");
        if (meta.Count > 0) sb.Append($"<p class=\"gh-meta\">{string.Join(" · ", meta)}</p>");
        if (f.Evidence.Count > 0)
        {
            sb.Append("<ul>");
            foreach (var e in f.Evidence) sb.Append($"<li>{E(e)}</li>");
            sb.Append("</ul>");
        }
        foreach (var r in f.Remedies) sb.Append($"<p><b>{E(r.Title)}</b></p>").Append(Code(r.Detail));
        sb.Append("</div>");
    }

    private static void Layers(StringBuilder sb, Diagnosis d)
    {
        sb.Append("<h2 id=\"layers\">Layers, in data-flow order</h2><table><thead><tr><th>layer</th><th>depth</th><th>grad RMS</th><th>grad norm</th><th>vs last</th><th>update ‖Δw‖/‖w‖</th><th>dead units</th></tr></thead><tbody>");
        foreach (var l in d.Layers)
            sb.Append($"<tr><td>{E(l.Layer)}</td><td>{l.Depth}</td><td>{N(l.FlowingRms)}</td><td>{N(l.GradientNorm)}</td><td>{(double.IsNaN(l.RatioToLast) ? "–" : N(l.RatioToLast))}</td><td>{(l.UpdateRatio is double u ? N(u) : "–")}</td><td>{(l.DeadUnitFraction is double f ? f.ToString("P0", CultureInfo.InvariantCulture) : "–")}</td></tr>");
        sb.Append("</tbody></table>");
    }

    /// <summary>
    /// C# in a remedy's text: an assignment or a call through a member (<c>model = ActivationSwap.Replace(...)</c>,
    /// <c>Init.Apply(model, InitScheme.HeNormal)</c>, <c>optimizer.zero_grad();</c>) or a <c>foreach</c> statement.
    /// </summary>
    private static readonly System.Text.RegularExpressions.Regex CodeSpan = new(
        @"foreach \(var [^;]*;|(?:\b\w+ (?:[*/]?=) )?(?:\b[A-Za-z_]\w*(?:\[\d+\])?\.)+\w+\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\);?",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>A remedy: its text with every piece of code set as code, then those pieces again, one statement per line, as a block to copy.</summary>
    private static string Code(string detail)
    {
        var matches = CodeSpan.Matches(detail);
        if (matches.Count == 0) return $"<p>{E(detail)}</p>";
        var sb = new StringBuilder("<p>");
        int at = 0;
        foreach (System.Text.RegularExpressions.Match m in matches)
        {
            sb.Append(E(detail[at..m.Index])).Append("<code>").Append(E(m.Value)).Append("</code>");
            at = m.Index + m.Length;
        }
        sb.Append(E(detail[at..])).Append("</p>");
        // The calls to paste, in the order the remedy gives them, each as a statement.
        var calls = matches.Select(m => m.Value.TrimEnd(';') + ";").Distinct().ToList();
        sb.Append("<pre><code>").Append(E(string.Join("\n", calls))).Append("</code></pre>");
        return sb.ToString();
    }

    private static string Level(Severity s) => s switch { Severity.Critical => "critical", Severity.Warning => "warning", _ => "info" };

    private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string N(double v) => double.IsFinite(v) ? v.ToString("0.00e+0", CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture);

    private static string E(string s) => WebUtility.HtmlEncode(s);
}
