namespace RnnTextClipping;

/// <summary>A problem with the text the user gave: reported as one line, without a stack trace.</summary>
public sealed class CorpusException(string message) : Exception(message);
