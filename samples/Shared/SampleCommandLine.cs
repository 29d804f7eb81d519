using System.CommandLine;

namespace GradientHooks.Samples;

/// <summary>A failure the user can fix (a path, an option value): one line naming what they wrote and what was expected, exit code 2.</summary>
public sealed class SampleException(string message) : Exception(message);

/// <summary>
/// Runs a sample's command line the way the README promises: a parse error (an unknown option, a value of the wrong
/// type) or an expected failure (<see cref="SampleException"/>, a path that cannot be read or written) prints one line,
/// "error: ...", and exits with code 2, never the whole help or a stack trace; <c>--help</c> prints the help.
/// </summary>
public static class SampleCommandLine
{
    /// <summary>Parses <paramref name="args"/> and invokes <paramref name="root"/>'s action.</summary>
    public static int Invoke(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"error: {parse.Errors[0].Message} (see --help)");
            return 2;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is SampleException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>
    /// A folder to write into: created when missing; refused (naming <paramref name="option"/>) when it is a file or
    /// cannot be created or written.
    /// </summary>
    public static DirectoryInfo OutputFolder(DirectoryInfo folder, string option)
    {
        if (File.Exists(folder.FullName))
            throw new SampleException($"{option} '{folder.FullName}' is a file; give a folder to write the charts into.");
        try
        {
            folder.Create();
            var probe = Path.Combine(folder.FullName, $".write-test-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SampleException($"{option} '{folder.FullName}' cannot be written: {e.Message}");
        }
        return folder;
    }

    /// <summary>An existing, readable file; refused (naming <paramref name="option"/>) when it is a folder or missing.</summary>
    public static FileInfo InputFile(FileInfo file, string option)
    {
        if (Directory.Exists(file.FullName))
            throw new SampleException($"{option} '{file.FullName}' is a folder; give a file.");
        if (!file.Exists)
            throw new SampleException($"{option} '{file.FullName}' does not exist.");
        return file;
    }
}
