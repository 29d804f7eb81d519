namespace GradientHooks;

/// <summary>When the monitor traces the forward pass for the module where NaN/Inf first appeared (<see cref="NonFiniteOrigin"/>).</summary>
public enum NonFiniteTraceMode
{
    /// <summary>Never: the origin names non-finite inputs only through the loss and gradients, weights, and the loss.</summary>
    Off,

    /// <summary>
    /// Default. After a step with NaN/Inf gradients whose forward pass was not traced, a forward hook is put on every
    /// module (and a pre-hook on the model for its input) for the next <see cref="MonitorOptions.NonFiniteTraceSteps"/>
    /// steps; the next non-finite step is then traced and the hooks removed. Costs nothing while training is healthy;
    /// a fault that recurs (a NaN weight, a bad batch that comes back, an overflow that the guard skips and meets
    /// again) gets its module named on its second occurrence.
    /// </summary>
    OnDemand,

    /// <summary>
    /// Hooks on every module from the start, so the first non-finite step is traced. Each training forward pass
    /// then pays one finiteness check per module output (a reduction and a read), until the first non-finite one.
    /// </summary>
    EveryStep,
}
