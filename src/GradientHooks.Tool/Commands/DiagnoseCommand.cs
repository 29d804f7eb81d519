using System.CommandLine;
using GradientHooks.Diagnostics;

namespace GradientHooks.Tool.Commands;

/// <summary>
/// <c>gradienthooks diagnose &lt;log&gt; [--json] [--fail-on warning|critical]</c>: the diagnosis the monitor gave at the end
/// of the logged run (<see cref="Diagnosis.ToString"/>, or <see cref="Diagnosis.ToJson"/> with <c>--json</c>); exit code
/// 1 when a finding is at or above <c>--fail-on</c> (Warning by default), so a CI job can fail on a broken run.
/// </summary>
internal static class DiagnoseCommand
{
    public static Command Create()
    {
        var log = RunLogArgument.Create();
        var json = new Option<bool>("--json") { Description = "Print the diagnosis as JSON (the shape of Diagnosis.ToJson) and nothing else." };
        var failOn = new Option<string>("--fail-on")
        {
            Description = "Lowest severity that makes the exit code 1: warning or critical.",
            DefaultValueFactory = _ => "warning",
        };
        failOn.AcceptOnlyFromAmong("warning", "critical");
        var command = new Command("diagnose", "Diagnose a run log: vanishing or exploding gradients, dying units, their root cause and remedies. Exit code 0 healthy, 1 problems found, 2 bad input.")
        {
            log, json, failOn,
        };
        command.SetAction(parse =>
        {
            var run = RunLogArgument.Load(parse.GetValue(log)!);
            var diagnosis = run.Diagnose();
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
                output.WriteLine(diagnosis.ToJson());
            else
            {
                output.WriteLine($"Run log {run.Path}: {run.Steps} steps, {run.Parameters.Count} parameters{(run.Profile is { } p ? $", {p.ModelType}" : "")}, written by GradientHooks {run.Library}");
                output.WriteLine();
                output.Write(diagnosis.ToString());
            }
            var threshold = parse.GetValue(failOn) == "critical" ? Severity.Critical : Severity.Warning;
            return diagnosis.Findings.Any(f => f.Severity >= threshold) ? ToolExitCode.ProblemsFound : ToolExitCode.Healthy;
        });
        return command;
    }
}
