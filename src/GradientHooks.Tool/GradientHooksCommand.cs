using System.CommandLine;
using GradientHooks.Tool.Commands;

namespace GradientHooks.Tool;

/// <summary>
/// The <c>gradienthooks</c> command line: <c>diagnose</c> and <c>report</c> on a run log. A parse error (an unknown
/// command or option, a missing argument) or a failure the user can fix (a missing log, a file that is not a run log,
/// an output that cannot be written) prints one line, "error: ...", on stderr and exits with
/// <see cref="ToolExitCode.BadInput"/>; never the whole help or a stack trace.
/// </summary>
public static class GradientHooksCommand
{
    /// <summary>What users type: the package's ToolCommandName.</summary>
    public const string CommandName = "gradienthooks";

    /// <summary>The root command with its subcommands.</summary>
    public static RootCommand Create() => new("Diagnose GradientHooks run logs and write their HTML reports, without the model or libtorch.")
    {
        DiagnoseCommand.Create(),
        ReportCommand.Create(),
    };

    /// <summary>Runs the command line <paramref name="args"/>, writing to <paramref name="output"/> and <paramref name="error"/>; returns the exit code.</summary>
    public static int Invoke(string[] args, TextWriter output, TextWriter error)
    {
        var parse = Create().Parse(args);
        if (parse.Errors.Count > 0)
        {
            // The error about a word the user wrote (a misspelt option or command) before one about what is missing; on one line.
            var first = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unknown option", StringComparison.Ordinal))
                ?? parse.Errors.FirstOrDefault(e => parse.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal)))
                ?? parse.Errors[0];
            error.WriteLine($"error: {OneLine(first.Message)} (see gradienthooks --help)");
            return ToolExitCode.BadInput;
        }
        try
        {
            if (parse.Action is System.CommandLine.Help.HelpAction)
            {
                // Help names the program by its assembly (GradientHooks.Tool); users type the command name.
                var help = new StringWriter();
                int code = parse.Invoke(new InvocationConfiguration { Output = help, Error = error });
                output.Write(help.ToString().Replace($"  {RootCommand.ExecutableName} ", $"  {CommandName} ", StringComparison.Ordinal));
                return code;
            }
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is ToolException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: {OneLine(e.Message)}");
            return ToolExitCode.BadInput;
        }
    }

    /// <summary>A message on one line: runs of whitespace, line breaks included, become one space.</summary>
    private static string OneLine(string message) => System.Text.RegularExpressions.Regex.Replace(message.Trim(), @"\s*\n\s*|\s{2,}", " ");
}
