namespace GradientHooks;

/// <summary>
/// Where the NaN/Inf of a step came from, worked out when its gradients were non-finite: whether the input batch,
/// a weight or the loss already held NaN/Inf, the first module (in the order the forward pass ran them) whose
/// output was non-finite, and the parameters whose gradients were. Read it in <see cref="StepRecord.Origin"/> and
/// in the evidence of the <c>NonFiniteGradients</c> finding.
/// </summary>
/// <param name="Cause">The cause in one line, from the checks below, in this order: non-finite input; non-finite
/// weights; the first non-finite module output (inputs and weights finite: an overflow or an invalid operation in that
/// module); a finite output with a non-finite loss (log(0), division by zero in the loss); a finite forward pass and
/// loss (the backward pass overflowed); or, when the forward pass was not traced, what is known.</param>
/// <param name="InputNonFinite">True/false when the model's input was checked (a pre-hook on the model, called through <c>.call()</c>); null when not traced.</param>
/// <param name="NonFiniteWeights">Trainable parameters holding NaN/Inf before this step's update.</param>
/// <param name="LossNonFinite">True/false when the step recorded a loss; null otherwise.</param>
/// <param name="FirstNonFiniteModule">The first module whose forward output held NaN/Inf (path and type, e.g. <c>fc2 (Linear)</c>); null when none was or the pass was not traced.</param>
/// <param name="Traced">True when forward hooks watched this step's forward pass (and at least one fired).</param>
/// <param name="NonFiniteGradients">Parameters with NaN/Inf gradients, in <c>named_parameters</c> order; the last is nearest the output, where the backward pass starts.</param>
public sealed record NonFiniteOrigin(
    string Cause,
    bool? InputNonFinite,
    IReadOnlyList<string> NonFiniteWeights,
    bool? LossNonFinite,
    string? FirstNonFiniteModule,
    bool Traced,
    IReadOnlyList<string> NonFiniteGradients)
{
    /// <inheritdoc />
    public override string ToString() => Cause;
}
