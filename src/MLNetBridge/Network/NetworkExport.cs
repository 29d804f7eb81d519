using GradientHooks.Initialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.MLNet.Network;

/// <summary>
/// Copies a trained <see cref="NetworkBuilder"/> Sequential into a <see cref="ScoringNetwork"/>. A BatchNorm1d
/// (eval mode: running statistics) after a Linear is folded into it: with s = γ / √(σ²_running + ε),
/// W' = diag(s)·W and b' = s·(b − μ_running) + β, so scoring is one matrix-vector product per layer.
/// </summary>
internal static class NetworkExport
{
    public static ScoringNetwork ToScoring(Sequential model, double labelMean = 0, double labelScale = 1)
    {
        var layers = new List<DenseLayer>();
        Pending? pending = null;
        foreach (var (name, module) in model.named_children())
        {
            switch (module)
            {
                case Linear linear:
                    if (pending != null) layers.Add(pending.Build());
                    pending = new Pending(linear);
                    break;
                case BatchNorm1d bn:
                    (pending ?? throw Unexpected(name, "a BatchNorm1d before any Linear")).Fold(bn);
                    break;
                default:
                    var activation = Classify(name, module);
                    (pending ?? throw Unexpected(name, "an activation before any Linear")).Activation = activation;
                    break;
            }
        }
        if (pending is null) throw Unexpected("(model)", "no Linear layer");
        layers.Add(pending.Build());
        return new ScoringNetwork(layers, labelMean, labelScale);
    }

    private static Activation Classify(string name, nn.Module module) => module switch
    {
        ReLU => Activation.ReLU,
        LeakyReLU l when Math.Abs(l.negative_slope - 0.01) < 1e-12 => Activation.LeakyReLU,
        ELU e when e.alpha == 1.0 => Activation.ELU,
        SELU => Activation.SELU,
        GELU g when g.approximate == GELU.Approximate.none => Activation.GELU,
        Sigmoid => Activation.Sigmoid,
        Tanh => Activation.Tanh,
        _ => throw Unexpected(name, $"a {module.GetType().Name} module, which has no scoring equivalent"),
    };

    private static InvalidOperationException Unexpected(string name, string what) =>
        new($"Cannot export the TorchMlp network: module '{name}' is {what}.");

    private sealed class Pending
    {
        private readonly int _inputs, _outputs;
        private readonly double[] _weight, _bias;

        public Pending(Linear linear)
        {
            _inputs = (int)linear.in_features;
            _outputs = (int)linear.out_features;
            _weight = ToDoubles(linear.weight!);
            _bias = linear.bias is { } b ? ToDoubles(b) : new double[_outputs];
        }

        public Activation Activation { get; set; } = Activation.Linear;

        public void Fold(BatchNorm1d bn)
        {
            var mean = ToDoubles(bn.running_mean!);
            var variance = ToDoubles(bn.running_var!);
            var gamma = bn.weight is { } w ? ToDoubles(w) : Enumerable.Repeat(1.0, _outputs).ToArray();
            var beta = bn.bias is { } b ? ToDoubles(b) : new double[_outputs];
            for (var o = 0; o < _outputs; o++)
            {
                var s = gamma[o] / Math.Sqrt(variance[o] + bn.eps);
                for (var i = 0; i < _inputs; i++) _weight[o * _inputs + i] *= s;
                _bias[o] = s * (_bias[o] - mean[o]) + beta[o];
            }
        }

        public DenseLayer Build() => new(_inputs, _outputs,
            _weight.Select(v => (float)v).ToArray(), _bias.Select(v => (float)v).ToArray(), Activation);

        private static double[] ToDoubles(Tensor t)
        {
            using var scope = torch.NewDisposeScope();
            return t.detach().cpu().to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        }
    }
}
