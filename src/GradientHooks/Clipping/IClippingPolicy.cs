using TorchSharp.Modules;

namespace GradientHooks.Clipping;

/// <summary>
/// A clipping policy: looks at the gradients after <c>backward()</c> and before the optimizer's update, may rescale
/// them in place, and may ask for the update to be skipped. Policies are small objects with one job, validated
/// when built (see <see cref="Clip"/>), and compose with <see cref="Clip.Chain"/>. Stateful policies
/// (<see cref="Clip.Adaptive"/>, <see cref="Clip.ZScore"/>) belong to one training run.
/// </summary>
public interface IClippingPolicy
{
    /// <summary>Applies the policy to the gradients of <paramref name="parameters"/>.</summary>
    /// <param name="parameters">The parameters whose <c>grad</c> to clip (null grads are ignored).</param>
    /// <param name="step">
    /// The monitor's record of these same gradients, when it is current: policies reuse its norms instead of a
    /// second pass over the gradients. Null means "measure yourself".
    /// </param>
    /// <returns>What was done: norms before and after, whether anything was clipped, whether to skip the update, and why.</returns>
    ClipResult Apply(IReadOnlyList<Parameter> parameters, StepRecord? step = null);

    /// <summary>
    /// True for a policy that learns from the steps it sees (a norm history, a moving average, a window) and so has a
    /// state to carry across a checkpoint (<see cref="GradientHooks.Checkpoint"/>); false (the default) for one whose
    /// every decision comes from the current step alone. A custom stateful policy implements this and the two methods
    /// below, or its state starts afresh on resume.
    /// </summary>
    bool IsStateful => false;

    /// <summary>Writes what the policy has learned (nothing for a stateless policy).</summary>
    void WriteState(BinaryWriter writer) { }

    /// <summary>Restores what <see cref="WriteState"/> wrote, into a policy built with the same settings.</summary>
    /// <exception cref="InvalidDataException">The state does not fit this policy (another window size, another number of parameters).</exception>
    void ReadState(BinaryReader reader) { }
}
