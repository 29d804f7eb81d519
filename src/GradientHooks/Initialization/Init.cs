using GradientHooks.ModelReading;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.Initialization;

/// <summary>
/// Weight initialisation helpers: the remedy for gradients that vanish or explode from the first step because
/// each layer scales its input's variance by a factor other than one. Sampling is seeded with
/// <c>torch.manual_seed</c> (TorchSharp's <c>nn.init.normal_</c>/<c>uniform_</c> ignore their generator argument,
/// and its <c>init.xavier_normal_</c> actually draws from a uniform distribution, so the standard deviation is
/// computed here from the formula and drawn with <c>normal_</c>/<c>uniform_</c>).
/// </summary>
public static class Init
{
    /// <summary>
    /// Re-initialises every weight of Linear, Conv1d/2d/3d, Embedding and RNN/LSTM/GRU modules (input-to-hidden
    /// with <paramref name="scheme"/>, hidden-to-hidden with <see cref="InitOptions.RecurrentScheme"/>, both per gate
    /// block) and sets their biases to zero. The gain comes from <paramref name="activation"/> when given; otherwise
    /// from the activation module that follows each layer in a Sequential (past dropout and normalisation); a layer
    /// followed by none gets the linear gain 1, except under He schemes in containers whose order is unknown,
    /// where PyTorch's default (ReLU, √2) applies. LeCun normal always uses gain 1. Recurrent layers use gain 1
    /// unless <paramref name="activation"/> is given. Normalisation layers are left as they are; other modules with
    /// parameters are left untouched and listed in the summary.
    /// </summary>
    /// <returns>What was initialised (with the std used) and what was skipped.</returns>
    public static InitSummary Apply(Module model, InitScheme scheme, Activation? activation = null, InitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new InitOptions();
        var initialized = new List<InitializedParameter>();
        var skipped = new List<SkippedModule>();
        using var noGrad = torch.no_grad();
        foreach (var leaf in ModuleOrder.Leaves(model))
        {
            var module = leaf.Module;
            string prefix = leaf.Path.Length == 0 ? "" : leaf.Path + ".";
            switch (module)
            {
                case Linear or Convolution or Embedding:
                {
                    var (act, parameter) = activation is not null
                        ? (activation.Value, activation == Activation.LeakyReLU ? options.LeakyReLUSlope : (double?)null)
                        : leaf.Following is not null ? (leaf.Following.Value, leaf.FollowingParameter)
                        : (DefaultActivation(scheme, leaf), (double?)null);
                    foreach (var (name, p) in module.named_parameters(recurse: false))
                    {
                        if (name == "bias") { p.zero_(); initialized.Add(new InitializedParameter(prefix + name, null, act, 0, 0, 0, 0)); continue; }
                        initialized.Add(Fill(p, prefix + name, scheme, act, parameter ?? (act == Activation.LeakyReLU ? options.LeakyReLUSlope : null)));
                    }
                    break;
                }
                case RNN or LSTM or GRU:
                    InitRecurrent(module, prefix, scheme, activation ?? Activation.Linear, options, initialized);
                    break;
                case BatchNorm1d or BatchNorm2d or BatchNorm3d or LayerNorm or GroupNorm:
                    break;   // normalisation layers start at weight 1, bias 0 by construction: nothing to choose
                default:
                    if (module.named_parameters(recurse: false).Any())
                        skipped.Add(new SkippedModule(leaf.Path.Length == 0 ? "(model)" : leaf.Path, module.GetType().Name,
                            "not a Linear, Conv, Embedding, RNN, LSTM or GRU module; parameters left as they were"));
                    break;
            }
        }
        return new InitSummary(initialized, skipped);
    }

    /// <summary>
    /// PyTorch's <c>torch.nn.init.calculate_gain</c> table: Linear, Conv and Sigmoid 1; Tanh 5/3; ReLU √2;
    /// LeakyReLU √(2/(1 + slope²)) with slope 0.01 unless <paramref name="parameter"/> gives it (TorchSharp's
    /// <c>calculate_gain</c> defaults the slope to 0); SELU 3/4. ELU and GELU are not in PyTorch's table; they get
    /// the ReLU gain √2 here, as they behave like ReLU for positive inputs.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Unknown activation, or a LeakyReLU slope that is not a finite number.</exception>
    public static double Gain(Activation activation, double? parameter = null) => parameter is double p && !double.IsFinite(p)
        ? throw new ArgumentOutOfRangeException(nameof(parameter), p, "The LeakyReLU slope (parameter) must be a finite number.")
        : activation switch
    {
        Activation.Linear or Activation.Sigmoid => 1.0,
        Activation.Tanh => 5.0 / 3.0,
        Activation.ReLU or Activation.ELU or Activation.GELU => Math.Sqrt(2.0),
        Activation.LeakyReLU => Math.Sqrt(2.0 / (1 + Math.Pow(parameter ?? 0.01, 2))),
        Activation.SELU => 0.75,
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };

    /// <summary>
    /// Standard deviation of the weights a scheme draws: LeCun g/√n_in; Xavier (normal and uniform)
    /// g·√(2/(n_in + n_out)); He (normal and uniform) g/√n_in; orthogonal g/√max(n_in, n_out).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A fan is not positive, or the gain is not a positive finite number.</exception>
    public static double StdFor(InitScheme scheme, long fanIn, long fanOut, double gain = 1.0)
    {
        if (fanIn <= 0) throw new ArgumentOutOfRangeException(nameof(fanIn), fanIn, "fanIn must be positive.");
        if (fanOut <= 0) throw new ArgumentOutOfRangeException(nameof(fanOut), fanOut, "fanOut must be positive.");
        if (!(gain > 0) || double.IsInfinity(gain)) throw new ArgumentOutOfRangeException(nameof(gain), gain, "gain must be a finite number > 0.");
        return scheme switch
        {
            InitScheme.LeCunNormal or InitScheme.HeNormal or InitScheme.HeUniform => gain / Math.Sqrt(fanIn),
            InitScheme.XavierNormal or InitScheme.XavierUniform => gain * Math.Sqrt(2.0 / (fanIn + fanOut)),
            InitScheme.Orthogonal => gain / Math.Sqrt(Math.Max(fanIn, fanOut)),
            _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "Unknown scheme."),
        };
    }

    /// <summary>
    /// Fills <paramref name="tensor"/> (a weight of at least 2 dimensions) in place by <paramref name="scheme"/> with
    /// gain <paramref name="gain"/>, using PyTorch's fans (<c>CalculateFanInAndFanOut</c>: n_in = size(1)·receptive
    /// field, n_out = size(0)·receptive field). Returns the std used.
    /// </summary>
    public static double Fill(Tensor tensor, InitScheme scheme, double gain = 1.0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() < 2)
            throw new ArgumentException($"Init.Fill needs a weight with at least 2 dimensions to compute fans; got shape [{string.Join(", ", tensor.shape)}].", nameof(tensor));
        var (fanIn, fanOut) = nn.init.CalculateFanInAndFanOut(tensor);
        double std = StdFor(scheme, fanIn, fanOut, gain);
        using var noGrad = torch.no_grad();
        switch (scheme)
        {
            case InitScheme.LeCunNormal or InitScheme.XavierNormal or InitScheme.HeNormal:
                nn.init.normal_(tensor, 0, std);
                break;
            case InitScheme.XavierUniform or InitScheme.HeUniform:
                double bound = Math.Sqrt(3.0) * std;
                nn.init.uniform_(tensor, -bound, bound);
                break;
            case InitScheme.Orthogonal:
                FillOrthogonal(tensor, gain);
                break;
        }
        return std;
    }

    private static InitializedParameter Fill(Parameter p, string name, InitScheme scheme, Activation act, double? parameter)
    {
        double gain = scheme == InitScheme.LeCunNormal ? 1.0 : Gain(act, parameter);
        var (fanIn, fanOut) = p.dim() >= 2 ? nn.init.CalculateFanInAndFanOut(p) : (p.numel(), p.numel());
        double std = Fill(p, scheme, gain);
        return new InitializedParameter(name, scheme, act, gain, std, fanIn, fanOut);
    }

    /// <summary>g·Q with Q from the QR decomposition of a standard normal matrix, signs fixed by diag(R) so Q is uniformly (Haar) distributed.</summary>
    private static void FillOrthogonal(Tensor tensor, double gain)
    {
        using var scope = torch.NewDisposeScope();
        long rows = tensor.shape[0], cols = tensor.numel() / rows;
        var a = torch.randn(new[] { Math.Max(rows, cols), Math.Min(rows, cols) }, dtype: ScalarType.Float64);
        var (q, r) = torch.linalg.qr(a);
        q = q * torch.diagonal(r).sign().unsqueeze(0);
        if (rows < cols) q = q.t();
        tensor.copy_((q * gain).reshape(tensor.shape).to_type(tensor.dtype));
    }

    private static Activation DefaultActivation(InitScheme scheme, ModuleOrder.Leaf leaf) =>
        leaf.Following is null && !leaf.InOrderedContainer && scheme is InitScheme.HeNormal or InitScheme.HeUniform
            ? Activation.ReLU : Activation.Linear;

    private static void InitRecurrent(Module module, string prefix, InitScheme scheme, Activation act, InitOptions options, List<InitializedParameter> initialized)
    {
        int gates = module switch { LSTM => 4, GRU => 3, _ => 1 };
        double gain = scheme == InitScheme.LeCunNormal ? 1.0 : Gain(act, act == Activation.LeakyReLU ? options.LeakyReLUSlope : null);
        double hhGain = options.RecurrentScheme == InitScheme.LeCunNormal ? 1.0 : gain;
        foreach (var (name, p) in module.named_parameters(recurse: false))
        {
            long hidden = p.shape[0] / gates;
            if (name.StartsWith("bias", StringComparison.Ordinal))
            {
                p.zero_();
                if (module is LSTM && name.StartsWith("bias_ih", StringComparison.Ordinal) && options.LstmForgetGateBias != 0)
                    p.narrow(0, hidden, hidden).fill_(options.LstmForgetGateBias);   // gate order i, f, g, o
                initialized.Add(new InitializedParameter(prefix + name, null, act, 0, 0, 0, 0));
                continue;
            }
            bool hh = name.StartsWith("weight_hh", StringComparison.Ordinal);
            var s = hh ? options.RecurrentScheme : scheme;
            double g = hh ? hhGain : gain;
            double std = 0;
            for (int k = 0; k < gates; k++)
                std = Fill(p.narrow(0, k * hidden, hidden), s, g);
            initialized.Add(new InitializedParameter(prefix + name, s, act, g, std, p.shape[1], hidden));
        }
    }
}
