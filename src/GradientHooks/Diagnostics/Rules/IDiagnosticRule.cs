namespace GradientHooks.Diagnostics.Rules;

/// <summary>One diagnosis rule: looks at the context and returns its findings (none when all is well).</summary>
internal interface IDiagnosticRule
{
    IEnumerable<Finding> Evaluate(DiagnosisContext context);
}
