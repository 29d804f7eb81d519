namespace GradientHooks;

/// <summary>
/// The gradient of the loss with respect to a layer's output, ∂L/∂h, on one step: the quantity the vanishing/exploding
/// argument is about (backpropagation multiplies it layer by layer), recorded by a tap (<see cref="GradientMonitor.Tap"/>,
/// or automatically with <see cref="MonitorOptions.TrackOutputGradients"/>).
/// </summary>
/// <param name="Name">The tap's name: the module path for automatic taps.</param>
/// <param name="Gradient">Sufficient statistics of ∂L/∂h over the batch (merged when the tensor was tapped more than once in the step, as a shared layer or a recurrent one is).</param>
/// <param name="BackwardOrder">The order in which backward reached it, 0 first: backward runs from the loss to the input, so the reverse of data flow.</param>
public sealed record OutputGradient(string Name, GradientStats Gradient, int BackwardOrder);
