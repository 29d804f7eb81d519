using GradientHooks.Diagnostics;
using Spectre.Console;

namespace GradientHooks.Reporting;

/// <summary>
/// A progress display for long training (Spectre.Console): step, loss, total gradient norm, clipped and skipped
/// steps, and the current findings. When output is redirected (CI, a log file) it prints a plain line every
/// twentieth of the run instead.
/// </summary>
public static class TrainingProgress
{
    /// <summary>
    /// Calls <paramref name="trainStep"/> for steps 1..<paramref name="steps"/> while showing the monitor's latest numbers.
    /// The diagnosis shown is refreshed every <paramref name="diagnoseEvery"/> steps (default: a tenth of the run).
    /// </summary>
    public static void Run(GradientMonitor monitor, int steps, Action<int> trainStep, string title = "training", int? diagnoseEvery = null, TextWriter? plainOutput = null)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentNullException.ThrowIfNull(trainStep);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        int every = Math.Max(1, diagnoseEvery ?? steps / 10);
        var state = new State(monitor);
        monitor.StepCaptured += state.OnStep;
        try
        {
            bool plain = plainOutput != null || Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive;
            if (plain) RunPlain(state, steps, trainStep, title, every, plainOutput ?? Console.Out);
            else RunLive(state, steps, trainStep, title, every);
        }
        finally
        {
            monitor.StepCaptured -= state.OnStep;
        }
    }

    private static void RunPlain(State state, int steps, Action<int> trainStep, string title, int every, TextWriter output)
    {
        int printEvery = Math.Max(1, steps / 20);
        for (int step = 1; step <= steps; step++)
        {
            trainStep(step);
            if (step % every == 0) state.Rediagnose();
            if (step % printEvery == 0 || step == steps) output.WriteLine($"{title}: {state.Line(step, steps)}");
        }
    }

    private static void RunLive(State state, int steps, Action<int> trainStep, string title, int every)
    {
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: steps);
                for (int step = 1; step <= steps; step++)
                {
                    trainStep(step);
                    if (step % every == 0) state.Rediagnose();
                    task.Description = $"[bold]{Markup.Escape(title)}[/] {Markup.Escape(state.Line(step, steps))}";
                    task.Increment(1);
                }
            });
    }

    private sealed class State(GradientMonitor monitor)
    {
        private StepRecord? _last;
        private int _clipped, _skipped;
        private string _findings = "not yet diagnosed";

        public void OnStep(StepRecord r)
        {
            _last = r;
            if (r.Clipping?.Clipped == true) _clipped++;
            if (r.Skipped) _skipped++;
        }

        public void Rediagnose()
        {
            var d = monitor.Diagnose();
            var problems = d.Findings.Where(f => f.Severity >= Severity.Warning).Select(f => $"{f.Title} ({f.Severity})").ToList();
            _findings = problems.Count > 0 ? string.Join(", ", problems) : d.HasEnoughData ? "healthy" : "not enough data";
        }

        public string Line(int step, int steps)
        {
            var r = _last;
            string loss = r?.Loss is double l ? l.ToString("0.0000") : "-";
            string norm = r is { IsFull: true } ? r.TotalNorm.ToString("0.00e+0") : "-";
            return $"step {step}/{steps} loss {loss} |g| {norm} clipped {_clipped} skipped {_skipped} | {_findings}";
        }
    }
}
