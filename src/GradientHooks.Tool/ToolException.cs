namespace GradientHooks.Tool;

/// <summary>A failure the user can fix (a path, an option value); printed as one line, "error: ...", exit code 2.</summary>
public sealed class ToolException(string message) : Exception(message);
