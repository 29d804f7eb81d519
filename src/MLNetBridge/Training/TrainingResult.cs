using GradientHooks.Diagnostics;
using GradientHooks.MLNet.Network;

namespace GradientHooks.MLNet.Training;

/// <summary>What one fit produces: the scoring network, the per-epoch history, the final diagnosis and the monitor's captured steps.</summary>
internal sealed record TrainingResult(ScoringNetwork Network, IReadOnlyList<TorchMlpEpoch> History, Diagnosis Diagnosis, IReadOnlyList<StepRecord> Steps)
{
    /// <summary>The range test run before the fit (<see cref="TorchMlpOptions.FindLearningRate"/>), or null.</summary>
    public LearningRateSweep? RangeTest { get; init; }
}
