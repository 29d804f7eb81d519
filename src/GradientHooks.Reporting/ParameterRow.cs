namespace GradientHooks.Reporting;

/// <summary>
/// One row of <see cref="CsvSink"/>: a parameter on a captured step. Columns, in order:
/// <c>step</c>, <c>time</c> (ISO 8601 UTC), <c>loss</c>, <c>parameter</c>, <c>layer</c>, <c>count</c>, <c>sum</c>,
/// <c>sum_of_squares</c>, <c>norm</c>, <c>mean</c>, <c>rms</c>, <c>max_abs</c>, <c>non_finite</c>,
/// <c>update_ratio</c>, <c>total_norm</c>, <c>clipped</c>, <c>skipped</c>. Empty where unknown.
/// </summary>
internal readonly record struct ParameterRow(long Step, DateTimeOffset Time, double? Loss, string Parameter, string Layer,
    GradientStats Stats, double? UpdateRatio, double TotalNorm, bool? Clipped, bool? Skipped)
{
    public static readonly string[] Columns =
    {
        "step", "time", "loss", "parameter", "layer", "count", "sum", "sum_of_squares", "norm", "mean", "rms",
        "max_abs", "non_finite", "update_ratio", "total_norm", "clipped", "skipped",
    };

    /// <summary>The rows of a full step, in parameter order; none for a step without statistics.</summary>
    public static IEnumerable<ParameterRow> Of(StepRecord r)
    {
        if (!r.IsFull) yield break;
        for (int i = 0; i < r.Parameters.Count; i++)
            yield return new ParameterRow(r.Step, r.Time, r.Loss, r.Parameters[i].Name, r.Parameters[i].Layer, r.Gradients[i],
                r.UpdateRatios?[i], r.TotalNorm, r.Clipping?.Clipped, r.Clipping?.SkipStep);
    }
}
