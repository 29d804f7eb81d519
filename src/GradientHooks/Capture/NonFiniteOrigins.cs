namespace GradientHooks.Capture;

/// <summary>Turns what is known about a non-finite step into its <see cref="NonFiniteOrigin"/>, the cause first.</summary>
internal static class NonFiniteOrigins
{
    public static NonFiniteOrigin Explain(StepRecord record, (bool Traced, bool? InputNonFinite, string? FirstModule) trace,
        IReadOnlyList<string> weights, NonFiniteTraceMode mode, int traceSteps)
    {
        bool? loss = record.Loss is double l ? !double.IsFinite(l) : null;
        var grads = record.NonFiniteParameters;
        string nearest = grads.Count == 0 ? "" : $"; NaN/Inf gradients in {grads.Count} parameter(s), nearest the output {grads[^1]}";
        string lossText = loss switch { true => "the loss was non-finite", false => "the loss was finite", null => "no loss recorded (Capture(loss))" };
        bool? input = trace.Traced ? trace.InputNonFinite : null;
        string cause;
        if (input == true)
            cause = "the input batch held NaN/Inf before the first layer (check the data: missing values, a division in preprocessing)";
        else if (weights.Count > 0)
            cause = $"weight(s) {string.Join(", ", weights)} held NaN/Inf before this step's update (a previous update diverged: restore them, roll back, lower the learning rate)";
        else if (trace.FirstModule is { } module)
            cause = $"the forward pass first turned non-finite in {module}, with {(input == false ? "finite input and " : "")}finite weights: an overflow or an invalid operation in that module";
        else if (trace.Traced && loss == true)
            cause = "every module output was finite and the loss was not: the loss itself produced NaN/Inf (log(0), division by zero, an Inf target)";
        else if (trace.Traced)
            cause = $"every module output was finite and {lossText}: the backward pass overflowed";
        else
        {
            string armed = mode switch
            {
                NonFiniteTraceMode.OnDemand => $"forward not traced on this step; trace hooks are armed for the next {traceSteps} steps",
                NonFiniteTraceMode.EveryStep => "forward not traced: no module hook fired (modules called with .forward() instead of .call())",
                _ => "forward not traced (MonitorOptions.TraceNonFinite = Off)",
            };
            cause = $"weights finite, {lossText}; {armed}";
        }
        return new NonFiniteOrigin(cause + nearest, input, weights, loss, trace.FirstModule, trace.Traced, grads);
    }
}
