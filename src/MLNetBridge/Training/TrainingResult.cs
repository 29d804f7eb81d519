using GradientHooks.Diagnostics;
using GradientHooks.MLNet.Network;

namespace GradientHooks.MLNet.Training;

/// <summary>What one fit produces: the scoring network, the per-epoch history and the final diagnosis.</summary>
internal sealed record TrainingResult(ScoringNetwork Network, IReadOnlyList<TorchMlpEpoch> History, Diagnosis Diagnosis);
