using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.MLNet.Training;

/// <summary>Makes TorchSharp's scheduler for a <see cref="LearningRateSchedule"/>, stepped once after every mini-batch.</summary>
internal static class LearningRateSchedules
{
    /// <summary>The share of the steps over which <see cref="LearningRateSchedule.StableThenCosine"/> anneals.</summary>
    public const double DecayFraction = 0.3;

    /// <summary>
    /// <see cref="LearningRateSchedule.Cosine"/>: <c>CosineAnnealingLR(optimizer, T_max: totalSteps, eta_min: 0)</c>;
    /// <see cref="LearningRateSchedule.StableThenCosine"/>: <c>LambdaLR</c> with <see cref="Factor"/>;
    /// <see cref="LearningRateSchedule.Constant"/>: none (null).
    /// </summary>
    public static optim.lr_scheduler.LRScheduler? Create(LearningRateSchedule schedule, optim.Optimizer optimizer, int totalSteps)
    {
        var steps = Math.Max(1, totalSteps);
        return schedule switch
        {
            LearningRateSchedule.Cosine => optim.lr_scheduler.CosineAnnealingLR(optimizer, steps, eta_min: 0),
            LearningRateSchedule.StableThenCosine => optim.lr_scheduler.LambdaLR(optimizer, t => Factor(t, steps)),
            _ => null,
        };
    }

    /// <summary>
    /// The multiplier of <see cref="LearningRateSchedule.StableThenCosine"/> at step t of T: 1 for t &lt; S, then
    /// (1 + cos(π · (t − S) / (T − S))) / 2, with S = T − max(1, ⌊<see cref="DecayFraction"/> · T⌋).
    /// </summary>
    public static double Factor(int step, int totalSteps)
    {
        int decay = Math.Max(1, (int)(DecayFraction * totalSteps));
        int stable = totalSteps - decay;
        return step < stable ? 1.0 : (1 + Math.Cos(Math.PI * Math.Min(step - stable, decay) / decay)) / 2;
    }

    /// <summary>The learning rate the optimizer's first parameter group will use on its next step.</summary>
    public static double Current(optim.Optimizer optimizer) => optimizer.ParamGroups.First().LearningRate;
}
