using GradientHooks.Diagnostics;

namespace GradientHooks.Reporting;

/// <summary>What a report shows: the history of full steps, the model's profile, the diagnosis, the loss series and where it came from.</summary>
/// <param name="History">Full steps, oldest first.</param>
/// <param name="Profile">The model's profile, when known.</param>
/// <param name="Diagnosis">The diagnosis of that history.</param>
/// <param name="Losses">(step, loss) for the loss chart.</param>
/// <param name="Source">A line saying where the data came from (a live monitor, a run log).</param>
internal sealed record ReportData(IReadOnlyList<StepRecord> History, ModelProfile? Profile, Diagnosis Diagnosis, IReadOnlyList<(long Step, double Loss)> Losses, string Source);
