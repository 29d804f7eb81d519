namespace GradientHooks.Diagnostics;

/// <summary>How urgent a finding is.</summary>
public enum Severity
{
    /// <summary>Worth knowing; training can go on.</summary>
    Info,
    /// <summary>Training is likely impaired.</summary>
    Warning,
    /// <summary>Training is broken (no learning, NaN, divergence).</summary>
    Critical,
}
