using System.CommandLine;
using GradientHooks.Reporting;

namespace GradientHooks.Tool.Commands;

/// <summary>The <c>&lt;log&gt;</c> argument both commands take, and its loading with errors that name the file.</summary>
internal static class RunLogArgument
{
    public static Argument<FileInfo> Create()
    {
        var log = new Argument<FileInfo>("log") { Description = "A run log written by GradientHooks.Reporting.JsonLinesSink (one JSON object per line)." };
        // A misspelt option before the log ("diagnose --jsn run.jsonl") would otherwise be taken for the log's path.
        log.Validators.Add(result =>
        {
            if (result.Tokens.FirstOrDefault()?.Value is { } value && value.StartsWith('-'))
                result.AddError($"Unknown option '{value}'.");
        });
        return log;
    }

    /// <summary>Reads the log; a missing file, a folder or a file that is not a run log becomes a <see cref="ToolException"/> naming it.</summary>
    public static RunLog Load(FileInfo file)
    {
        try
        {
            return RunLog.Load(file.FullName);
        }
        catch (FileNotFoundException)
        {
            throw new ToolException($"there is no run log at '{file.FullName}'.");
        }
        catch (InvalidDataException e)
        {
            throw new ToolException(e.Message);
        }
    }
}
