namespace GradientHooks;

/// <summary>
/// What decided the data-flow order of a model's layers (<see cref="LayerOrder"/>), from the most to the least
/// reliable. Where a model mixes sources, the weakest one that had to order two or more branches is reported.
/// </summary>
public enum LayerOrderSource
{
    /// <summary>
    /// Forward pre-hooks: the order in which the layers first ran in a forward pass, seen by the monitor. Hooks fire
    /// for modules run through <c>module.call(x)</c>, as <c>Sequential</c> runs its children. A <c>Sequential</c>'s own
    /// order and TorchSharp's built-in blocks (their definition) count as this.
    /// </summary>
    Hooks,

    /// <summary>
    /// The IL of the model's <c>forward()</c>: the order in which it calls its fields (and the entries of its ModuleList,
    /// ModuleDict or Sequential fields), for models whose <c>forward()</c> calls children with <c>.forward(x)</c>, which
    /// fires no hook.
    /// </summary>
    ForwardIL,

    /// <summary>
    /// Declaration order (<c>named_parameters</c>): neither hooks nor the IL of <c>forward()</c> could order some
    /// branches (a forward that runs its layers through delegates, lambdas or another object). The diagnosis says so
    /// when the model is not a Sequential.
    /// </summary>
    Declaration,
}
