namespace GradientHooks.Tool;

/// <summary>
/// The exit codes of <c>gradienthooks</c>, for scripts and CI: <see cref="Healthy"/> (0) when the run has no Warning or
/// Critical finding (or, with <c>--fail-on critical</c>, no Critical one), <see cref="ProblemsFound"/> (1) otherwise, and
/// <see cref="BadInput"/> (2) when the command line or the log cannot be used (one line on stderr says why).
/// </summary>
public static class ToolExitCode
{
    /// <summary>The command did its work and the diagnosis has nothing at or above the failing severity.</summary>
    public const int Healthy = 0;

    /// <summary>The diagnosis has a finding at or above the failing severity.</summary>
    public const int ProblemsFound = 1;

    /// <summary>An unknown command or option, a missing or unreadable log, an output that cannot be written.</summary>
    public const int BadInput = 2;
}
