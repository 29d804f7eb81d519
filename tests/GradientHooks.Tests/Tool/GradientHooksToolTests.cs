using System.Text.Json;
using GradientHooks.Tests.Samples;
using GradientHooks.Tool;
using Xunit;

namespace GradientHooks.Tests.Tool;

/// <summary>
/// The <c>gradienthooks</c> command on real run logs: its diagnosis is the one the live monitor gave at the end of the run
/// (checked against it, not against the tool's own code), its exit code says whether the run has a problem, its report is
/// written where asked, and bad input gets one line and exit code 2.
/// </summary>
public sealed class GradientHooksToolTests(RunLogsFixture runs) : IClassFixture<RunLogsFixture>
{
    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        int code = GradientHooksCommand.Invoke(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Diagnose_prints_the_live_monitors_diagnosis_and_exits_0_for_a_healthy_run()
    {
        Assert.Contains("healthy", runs.Healthy.Diagnosis.Split('\n')[0]);   // the reference itself is a healthy run
        var (code, stdout, stderr) = Run("diagnose", runs.Healthy.Log);
        Assert.Equal(ToolExitCode.Healthy, code);
        Assert.Equal("", stderr);
        Assert.EndsWith(runs.Healthy.Diagnosis, stdout);
        Assert.StartsWith($"Run log {runs.Healthy.Log}: 80 steps", stdout);
    }

    [Fact]
    public void Diagnose_exits_1_for_a_run_whose_gradients_vanish_and_prints_the_same_verdict_the_monitor_gave()
    {
        var (code, stdout, _) = Run("diagnose", runs.Broken.Log);
        Assert.Equal(ToolExitCode.ProblemsFound, code);
        Assert.EndsWith(runs.Broken.Diagnosis, stdout);
        Assert.Contains("VanishingGradients", stdout);
    }

    [Fact]
    public void Fail_on_critical_exits_1_only_when_a_finding_is_critical()
    {
        using var live = JsonDocument.Parse(runs.Broken.Json);
        bool critical = live.RootElement.GetProperty("findings").EnumerateArray().Any(f => f.GetProperty("severity").GetString() == "Critical");
        Assert.Equal(critical ? 1 : 0, Run("diagnose", runs.Broken.Log, "--fail-on", "critical").Code);
        Assert.Equal(0, Run("diagnose", runs.Healthy.Log, "--fail-on", "critical").Code);
    }

    [Fact]
    public void Json_is_the_live_diagnosis_as_json_and_nothing_else()
    {
        var (code, stdout, _) = Run("diagnose", runs.Broken.Log, "--json");
        Assert.Equal(1, code);
        using var fromTool = JsonDocument.Parse(stdout);
        using var live = JsonDocument.Parse(runs.Broken.Json);
        Assert.Equal(live.RootElement.ToString(), fromTool.RootElement.ToString());
    }

    [Fact]
    public void Report_writes_next_to_the_log_by_default_and_where_out_says_creating_its_folder()
    {
        var (code, stdout, stderr) = Run("report", runs.Broken.Log);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var beside = Path.ChangeExtension(runs.Broken.Log, ".html");
        Assert.Equal($"Report: {beside} (Critical: vanishing gradients)", stdout.Trim());
        var html = File.ReadAllText(beside);
        Assert.Contains("Vanishing gradients", html);
        Assert.Contains("<svg", html);

        var elsewhere = Path.Combine(runs.Folder, "reports", "nested", "run.html");
        Assert.Equal(0, Run("report", runs.Healthy.Log, "-o", elsewhere).Code);
        Assert.Contains("healthy", File.ReadAllText(elsewhere));
    }

    [Fact]
    public void Help_names_the_command_users_type()
    {
        var (code, stdout, _) = Run("diagnose", "--help");
        Assert.Equal(0, code);
        Assert.Contains("  gradienthooks diagnose <log> [options]", stdout);
        Assert.Contains("--fail-on", stdout);
        Assert.DoesNotContain("GradientHooks.Tool", Run("--help").Stdout);
    }

    public static TheoryData<string, string> BadInput => new()
    {
        { "diagnose {folder}/missing.jsonl", "there is no run log at '{folder}/missing.jsonl'" },
        { "diagnose {folder}", "'{folder}' is a folder" },
        { "diagnose {folder}/not-a-log.jsonl", "'{folder}/not-a-log.jsonl', line 1, is not valid JSON" },
        { "diagnose {folder}/empty.jsonl", "{folder}/empty.jsonl" },
        { "diagnose {folder}/cut.jsonl", "'{folder}/cut.jsonl', line 6 (the last), is cut off" },
        { "report {folder}/format9.jsonl", "is a run log of format 9" },
        { "diagnose --jsn {log}", "Unknown option '--jsn'" },
        { "diagnose {log} --jsn", "'--jsn'" },
        { "diagnose {log} --fail-on info", "'info'" },
        { "report {log} -o {folder}", "--out '{folder}' is a folder" },
        { "report {log} -o {log}", "is the run log itself" },
        { "report {log} -o {folder}/blocker/report.html", "cannot be written" },
        { "summarize {log}", "'summarize'" },
        { "diagnose", "Required argument missing" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public void Bad_input_gets_one_line_naming_what_was_written_and_exit_code_2(string arguments, string expected)
    {
        File.WriteAllText(Path.Combine(runs.Folder, "not-a-log.jsonl"), "step,loss\n1,0.5\n");
        File.WriteAllText(Path.Combine(runs.Folder, "empty.jsonl"), "");
        File.WriteAllText(Path.Combine(runs.Folder, "blocker"), "a file where a folder would go");
        var lines = File.ReadAllLines(runs.Healthy.Log);
        File.WriteAllText(Path.Combine(runs.Folder, "cut.jsonl"), string.Join("\n", lines[..5]) + "\n" + lines[5][..(lines[5].Length / 2)]);   // a run killed mid-line
        File.WriteAllLines(Path.Combine(runs.Folder, "format9.jsonl"), [lines[0].Replace("\"format\":1,", "\"format\":9,"), .. lines[1..]]);
        string Fill(string s) => s.Replace("{folder}", runs.Folder).Replace("{log}", runs.Healthy.Log);
        var before = File.ReadAllBytes(runs.Healthy.Log);
        var (code, stdout, stderr) = Run(Fill(arguments).Split(' '));
        SampleProcess.AssertOneLineError((code, stdout, stderr), Fill(expected));
        Assert.Equal("", stdout);
        Assert.Equal(before, File.ReadAllBytes(runs.Healthy.Log));   // nothing the user had is lost
    }

    [Fact]
    public void As_a_process_the_exit_codes_are_what_a_ci_job_sees()
    {
        var (code, stdout, _) = SampleProcess.Run("GradientHooks.Tool.dll", $"diagnose \"{runs.Broken.Log}\"");
        Assert.Equal(1, code);
        Assert.EndsWith(runs.Broken.Diagnosis, stdout.ReplaceLineEndings("\n"));
        Assert.Equal(0, SampleProcess.Run("GradientHooks.Tool.dll", $"diagnose \"{runs.Healthy.Log}\"").Code);
        SampleProcess.AssertOneLineError(SampleProcess.Run("GradientHooks.Tool.dll", $"report \"{runs.Folder}/none.jsonl\""), "there is no run log");
    }
}
