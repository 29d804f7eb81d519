namespace GradientHooks.Clipping;

/// <summary>What <see cref="Clip.SkipSpikes"/> watches for spikes.</summary>
[Flags]
public enum SpikeSignals
{
    /// <summary>The total L2 gradient norm of the step (default): what an update is made of.</summary>
    GradientNorm = 1,

    /// <summary>
    /// The loss recorded by <c>monitor.Capture(loss)</c>. Off by default: mini-batch losses of heavy-tailed data are
    /// not spikes (measured: the healthy taxi-fare regression has batches whose loss is 200–740× the median of the
    /// last 128, while their gradient norms stay within the norm's own spread; watching the loss skipped 875 of its
    /// 24,980 updates). Turn it on for data with light-tailed losses (language models).
    /// </summary>
    Loss = 2,
}
