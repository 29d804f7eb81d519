using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using GradientHooks.Reporting;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Reporting;

/// <summary>The HTML report, read by a real browser: it loads without errors and its DOM holds the verdict, every layer and every chart.</summary>
public sealed class HtmlReportTests : IDisposable
{
    private readonly TestOutputFolder _output = new("report-tests-");
    private string _dir => _output.Path;

    public void Dispose() => _output.Dispose();

    private string Report(bool broken, out Diagnosis diagnosis)
    {
        torch.manual_seed(91);
        var model = broken ? TestModels.Deep(9, 32, () => Sigmoid(), input: 2, classes: 3) : TestModels.Deep(3, 32, () => ReLU(), input: 2, classes: 3);
        var x = torch.randn(256, 2);
        var y = (x[.., 0] > 0).to_type(ScalarType.Int64) + (x[.., 1] > 0).to_type(ScalarType.Int64);
        using var monitor = GradientMonitor.Attach(model);
        var optimizer = monitor.Guard(broken ? optim.SGD(model.parameters(), 0.05) : optim.Adam(model.parameters(), 1e-2), Clip.GlobalNorm(1.0));
        for (int i = 0; i < 80; i++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            monitor.Capture(loss);
            optimizer.step();
        }
        diagnosis = monitor.Diagnose();
        return HtmlReport.Write(monitor, Path.Combine(_dir, broken ? "broken.html" : "healthy.html"));
    }

    [Fact]
    public void The_report_is_one_file_with_no_script_and_no_external_resource()
    {
        var html = File.ReadAllText(Report(broken: true, out _));
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/", ""));
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<link", html);
        Assert.Contains("prefers-color-scheme: dark", html);
        Assert.Contains("@media print", html);
    }

    [BrowserFact]
    public void A_browser_loads_the_report_of_a_broken_run_without_errors_and_finds_the_verdict_every_layer_and_every_chart()
    {
        var path = Report(broken: true, out var d);
        var (dom, stderr) = HeadlessBrowser.Run(path, "--dump-dom");
        Assert.Empty(HeadlessBrowser.PageErrors(stderr));
        Assert.Contains("id=\"verdict\"", dom);
        var root = d.RootCause!;
        Assert.Contains($"data-kind=\"{root.Kind}\" data-severity=\"{root.Severity}\"", dom);
        foreach (var l in d.Layers) Assert.Contains($"<td>{l.Layer}</td>", dom);
        foreach (var chart in new[] { "chart-flow", "chart-heatmap", "chart-loss", "chart-norm", "chart-updates" })
            Assert.Matches($"<figure id=\"{chart}\"><figcaption>[^<]*</figcaption><svg", dom);
        // Dead and saturated units: a chart when there are some, one sentence when every bar would be zero.
        bool anyUnits = d.Layers.Any(l => l.DeadUnitFraction > 0) || d.Findings.Any(f => f.Kind is FindingKind.DyingRelu or FindingKind.SaturatedActivations);
        Assert.Matches(anyUnits ? "<figure id=\"chart-units\"><figcaption>[^<]*</figcaption><svg" : "<figure id=\"chart-units\"><figcaption>[^<]*</figcaption><p class=\"gh-meta\">None:", dom);
        // Each finding links to the chart that shows its evidence, and the target exists.
        Assert.Contains("evidence on the chart: <a href=\"#chart-flow\">", dom);

        var png = Path.Combine(_dir, "broken.png");
        HeadlessBrowser.Run(path, $"--hide-scrollbars --window-size=1100,2600 --screenshot={png}");
        Assert.True(new FileInfo(png).Length > 50_000, "the screenshot is (nearly) empty");
    }

    [BrowserFact]
    public void A_browser_shows_a_healthy_run_as_healthy()
    {
        var path = Report(broken: false, out var d);
        Assert.True(d.IsHealthy, d.ToString());
        var (dom, stderr) = HeadlessBrowser.Run(path, "--dump-dom");
        Assert.Empty(HeadlessBrowser.PageErrors(stderr));
        Assert.Contains("gh-badge gh-ok\">healthy</span>", dom);
        Assert.DoesNotContain("data-severity=\"Warning\"", dom);
        Assert.DoesNotContain("data-severity=\"Critical\"", dom);
    }

    [Fact]
    public void The_report_sink_rewrites_the_report_every_n_steps_and_at_dispose()
    {
        torch.manual_seed(92);
        var model = TestModels.Mlp(input: 4);
        var path = Path.Combine(_dir, "live.html");
        using var monitor = GradientMonitor.Attach(model);
        var x = torch.randn(16, 4);
        var y = torch.randint(0, 3, new long[] { 16 });
        var optimizer = monitor.Guard(optim.Adam(model.parameters(), 1e-3));
        using (HtmlReportSink.Attach(monitor, path, every: 5))
        {
            for (int i = 1; i <= 7; i++)
            {
                TestModels.TrainStep(model, monitor, optimizer, x, y);
                Assert.Equal(i >= 5, File.Exists(path));
            }
            Assert.Contains("steps 1–5 analysed", File.ReadAllText(path));
        }
        Assert.Contains("steps 1–7 analysed", File.ReadAllText(path));
        Assert.Throws<ArgumentOutOfRangeException>(() => HtmlReportSink.Attach(monitor, path, every: 0));
    }

    [Fact]
    public void Diagnosis_ToHtml_is_a_fragment_with_the_verdict_and_escaped_text()
    {
        Report(broken: true, out var d);
        var html = d.ToHtml();
        Assert.StartsWith("<style>", html);
        Assert.Contains("<section class=\"gh-diagnosis\">", html);
        Assert.Contains("id=\"verdict\"", html);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("σ&#39;(x)", html);   // apostrophes and symbols are escaped, not injected
    }
}
