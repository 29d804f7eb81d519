using System.CommandLine;

namespace GradientHooks.Tool.Commands;

/// <summary>
/// <c>gradienthooks report &lt;log&gt; [-o report.html]</c>: writes the run's HTML report (the verdict first, then the
/// charts as inline SVG; see <c>GradientHooks.Reporting.HtmlReport</c>) and prints its path and verdict. The report is
/// written next to the log, with the extension .html, unless <c>--out</c> says where. Exit code 0 once written, whatever
/// the verdict (use <c>diagnose</c> to fail a job), 2 on bad input.
/// </summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var log = RunLogArgument.Create();
        var output = new Option<FileInfo?>("--out", "-o") { Description = "The HTML file to write (default: the log's path with the extension .html)." };
        var command = new Command("report", "Write the HTML report of a run log: verdict, root cause, remedies, gradient flow, heatmap, loss, units and update charts.")
        {
            log, output,
        };
        command.SetAction(parse =>
        {
            var logFile = parse.GetValue(log)!;
            var run = RunLogArgument.Load(logFile);
            var target = parse.GetValue(output) ?? new FileInfo(Path.ChangeExtension(logFile.FullName, ".html"));
            if (Directory.Exists(target.FullName))
                throw new ToolException($"--out '{target.FullName}' is a folder; give the HTML file to write, e.g. '{Path.Combine(target.FullName, "report.html")}'.");
            if (string.Equals(target.FullName, run.Path, StringComparison.Ordinal))
                throw new ToolException($"--out '{target.FullName}' is the run log itself; give another file.");
            string written;
            try
            {
                written = run.WriteReport(target.FullName);
            }
            catch (ArgumentException e)
            {
                throw new ToolException($"--out '{target.FullName}' cannot be written: {e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)}");
            }
            var diagnosis = run.Diagnose();
            var verdict = diagnosis.RootCause is { } root ? $"{root.Severity}: {root.Title}" : diagnosis.HasEnoughData ? "healthy" : "not enough data";
            parse.InvocationConfiguration.Output.WriteLine($"Report: {written} ({verdict})");
            return ToolExitCode.Healthy;
        });
        return command;
    }
}
