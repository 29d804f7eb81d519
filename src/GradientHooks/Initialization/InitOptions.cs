namespace GradientHooks.Initialization;

/// <summary>Details of <see cref="Init.Apply(TorchSharp.torch.nn.Module, InitScheme, Activation?, InitOptions?)"/>.</summary>
public sealed record InitOptions
{
    /// <summary>Scheme of recurrent hidden-to-hidden weights (RNN, LSTM, GRU), applied per gate block. Default <see cref="InitScheme.Orthogonal"/>.</summary>
    public InitScheme RecurrentScheme { get; init; } = InitScheme.Orthogonal;

    /// <summary>Value of the LSTM forget-gate block of <c>bias_ih</c> (other biases are zero). Default 0; 1 is Jozefowicz et al. 2015's advice.</summary>
    public double LstmForgetGateBias { get; init; }

    /// <summary>Slope of LeakyReLU when it cannot be read from the module. Default 0.01 (PyTorch's default, not TorchSharp's calculate_gain default of 0).</summary>
    public double LeakyReLUSlope { get; init; } = 0.01;
}
