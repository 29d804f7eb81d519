namespace GradientHooks.Reporting;

/// <summary>What <see cref="GradientCharts.CompareRuns(IReadOnlyDictionary{string, IReadOnlyList{StepRecord}}, ChartMetric, string, int, int)"/> plots per step.</summary>
public enum ChartMetric
{
    /// <summary>The loss passed to Capture.</summary>
    Loss,
    /// <summary>The total gradient L2 norm before clipping (log scale).</summary>
    GradientNorm,
}
