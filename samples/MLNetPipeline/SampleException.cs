namespace MLNetPipeline;

/// <summary>A problem with the user's input: printed as one line, exit code 2.</summary>
public sealed class SampleException(string message) : Exception(message);
