using GradientHooks.Initialization;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Initialization;

public class InitTests
{
    [Theory]
    [InlineData(Activation.Linear, null, 1.0)]
    [InlineData(Activation.Sigmoid, null, 1.0)]
    [InlineData(Activation.Tanh, null, 5.0 / 3.0)]
    [InlineData(Activation.ReLU, null, 1.4142135623730951)]
    [InlineData(Activation.LeakyReLU, null, 1.4141428569978354)]   // √(2 / (1 + 0.01²)): PyTorch's default slope
    [InlineData(Activation.LeakyReLU, 0.2, 1.3867504905630728)]    // √(2 / 1.04)
    [InlineData(Activation.SELU, null, 0.75)]
    public void Gains_follow_PyTorch_calculate_gain_table(Activation activation, double? parameter, double expected) =>
        Assert.Equal(expected, Init.Gain(activation, parameter), 12);

    [Theory]
    [InlineData(Activation.Tanh, init.NonlinearityType.Tanh, 0.0)]
    [InlineData(Activation.ReLU, init.NonlinearityType.ReLU, 0.0)]
    [InlineData(Activation.Sigmoid, init.NonlinearityType.Sigmoid, 0.0)]
    [InlineData(Activation.LeakyReLU, init.NonlinearityType.LeakyReLU, 0.01)]
    public void Gains_agree_with_libtorch_when_the_slope_is_passed(Activation ours, init.NonlinearityType theirs, double slope) =>
        Assert.Equal(init.calculate_gain(theirs, slope), Init.Gain(ours, ours == Activation.LeakyReLU ? slope : null), 6);

    [Fact]
    public void TorchSharp_leaky_relu_gain_defaults_the_slope_to_zero_and_ours_does_not() =>
        Assert.NotEqual(init.calculate_gain(init.NonlinearityType.LeakyReLU), Init.Gain(Activation.LeakyReLU), 6);

    [Theory]
    [InlineData(InitScheme.LeCunNormal, 1.0)]
    [InlineData(InitScheme.XavierNormal, 1.0)]
    [InlineData(InitScheme.XavierUniform, 5.0 / 3.0)]
    [InlineData(InitScheme.HeNormal, 1.4142135623730951)]
    [InlineData(InitScheme.HeUniform, 1.4142135623730951)]
    [InlineData(InitScheme.Orthogonal, 1.0)]
    public void Sampled_std_is_within_two_percent_of_the_formula(InitScheme scheme, double gain)
    {
        torch.manual_seed(21);
        var w = torch.empty(600, 900);
        double std = Init.Fill(w, scheme, gain);
        double expected = scheme switch
        {
            InitScheme.XavierNormal or InitScheme.XavierUniform => gain * Math.Sqrt(2.0 / (900 + 600)),
            InitScheme.Orthogonal => gain / Math.Sqrt(900),
            _ => gain / Math.Sqrt(900),
        };
        Assert.Equal(expected, std, 12);
        var values = TestModels.Values(w);
        double sampled = Math.Sqrt(values.Sum(v => v * v) / values.Length);
        Assert.True(Math.Abs(sampled / expected - 1) < 0.02, $"sampled std {sampled}, formula {expected}");
        Assert.True(Math.Abs(values.Average()) < 0.02 * expected);
    }

    [Theory]
    [InlineData(InitScheme.LeCunNormal)]
    [InlineData(InitScheme.XavierNormal)]
    [InlineData(InitScheme.HeNormal)]
    public void Normal_schemes_pass_a_Kolmogorov_Smirnov_test_against_the_normal_law(InitScheme scheme)
    {
        torch.manual_seed(22);
        var w = torch.empty(300, 400);
        double std = Init.Fill(w, scheme, 1.0);
        double d = Statistics.KolmogorovSmirnov(TestModels.Values(w), x => Statistics.NormalCdf(x / std));
        Assert.True(d < 1.63 / Math.Sqrt(120_000), $"KS distance {d}"); // 1% critical value
    }

    [Fact]
    public void Uniform_schemes_stay_inside_their_bound_and_pass_KS_against_the_uniform_law()
    {
        torch.manual_seed(23);
        var w = torch.empty(300, 400);
        double std = Init.Fill(w, InitScheme.HeUniform, Math.Sqrt(2));
        double bound = Math.Sqrt(2) * Math.Sqrt(3.0 / 400);
        Assert.Equal(bound, std * Math.Sqrt(3), 12);
        var values = TestModels.Values(w);
        Assert.All(values, v => Assert.InRange(v, -bound, bound));
        double d = Statistics.KolmogorovSmirnov(values, x => Math.Clamp((x + bound) / (2 * bound), 0, 1));
        Assert.True(d < 1.63 / Math.Sqrt(values.Length), $"KS distance {d}");
    }

    [Fact]
    public void Our_std_matches_libtorch_kaiming_and_xavier_and_shows_xavier_normal_is_uniform_there()
    {
        torch.manual_seed(24);
        var ours = torch.empty(500, 300);
        var theirs = torch.empty(500, 300);
        Init.Fill(ours, InitScheme.HeNormal, Init.Gain(Activation.ReLU));
        init.kaiming_normal_(theirs, nonlinearity: init.NonlinearityType.ReLU);
        Assert.Equal(Statistics.Std(TestModels.Values(theirs)), Statistics.Std(TestModels.Values(ours)), 3);

        Init.Fill(ours, InitScheme.XavierNormal);
        init.xavier_normal_(theirs);
        var o = TestModels.Values(ours);
        var t = TestModels.Values(theirs);
        Assert.True(Math.Abs(Statistics.Std(o) / Statistics.Std(t) - 1) < 0.02);
        // Same std, different law: a normal sample has kurtosis 3, a uniform one 1.8 (TorchSharp 0.107 calls the native xavier_uniform).
        Assert.Equal(3.0, Statistics.Kurtosis(o), 1);
        Assert.True(Statistics.Kurtosis(t) < 2.0, $"TorchSharp xavier_normal_ kurtosis {Statistics.Kurtosis(t)}");
    }

    [Fact]
    public void Fans_agree_with_CalculateFanInAndFanOut_for_conv_and_linear()
    {
        torch.manual_seed(25);
        var conv = Conv2d(3, 8, 5);
        var model = Sequential(("conv", conv), ("act", ReLU()));
        var summary = Init.Apply(model, InitScheme.HeNormal);
        var w = summary.Initialized.Single(p => p.Parameter == "conv.weight");
        var (fanIn, fanOut) = init.CalculateFanInAndFanOut(conv.weight!);
        Assert.Equal((fanIn, fanOut), (w.FanIn, w.FanOut));
        Assert.Equal((75L, 200L), (w.FanIn, w.FanOut));
        Assert.Equal(Math.Sqrt(2) / Math.Sqrt(75), w.Std, 12);
    }

    [Fact]
    public void Orthogonal_weights_satisfy_W_Wt_equals_identity()
    {
        torch.manual_seed(26);
        foreach (var shape in new[] { new long[] { 64, 64 }, new long[] { 32, 96 }, new long[] { 96, 32 } })
        {
            var w = torch.empty(shape);
            Init.Fill(w, InitScheme.Orthogonal, 1.0);
            var product = shape[0] <= shape[1] ? w.mm(w.t()) : w.t().mm(w);
            double err = (product - torch.eye(product.shape[0])).abs().max().item<float>();
            Assert.True(err < 1e-5, $"shape [{shape[0]}, {shape[1]}]: max |W Wᵀ − I| = {err}");
        }
    }

    [Fact]
    public void LSTM_hidden_weights_are_orthogonal_per_gate_block_and_the_forget_bias_is_set()
    {
        torch.manual_seed(27);
        var lstm = LSTM(10, 16);
        var summary = Init.Apply(lstm, InitScheme.XavierUniform, options: new InitOptions { LstmForgetGateBias = 1 });
        var named = lstm.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var hh = named["weight_hh_l0"];
        for (int k = 0; k < 4; k++)
        {
            var block = hh.narrow(0, k * 16, 16);
            double err = (block.mm(block.t()) - torch.eye(16)).abs().max().item<float>();
            Assert.True(err < 1e-5, $"gate block {k}: {err}");
        }
        var bias = TestModels.Values(named["bias_ih_l0"]);
        Assert.Equal(Enumerable.Repeat(1.0, 16), bias.Skip(16).Take(16));
        Assert.Equal(0, bias.Take(16).Concat(bias.Skip(32)).Sum(Math.Abs));
        Assert.Equal(0, TestModels.Values(named["bias_hh_l0"]).Sum(Math.Abs));
        Assert.Contains(summary.Initialized, p => p.Parameter == "weight_ih_l0" && p.Scheme == InitScheme.XavierUniform && p.FanIn == 10 && p.FanOut == 16);
    }

    [Fact]
    public void Gain_is_inferred_from_the_activation_that_follows_each_layer()
    {
        torch.manual_seed(28);
        var model = Sequential(
            ("fc1", Linear(8, 8)), ("drop", Dropout(0.1)), ("act1", Tanh()),
            ("block", Sequential(("fc2", Linear(8, 8)), ("act2", LeakyReLU(0.2)))),
            ("fc3", Linear(8, 2)));
        var summary = Init.Apply(model, InitScheme.XavierNormal);
        double GainOf(string p) => summary.Initialized.Single(i => i.Parameter == p).Gain;
        Assert.Equal(5.0 / 3.0, GainOf("fc1.weight"), 12);
        Assert.Equal(Math.Sqrt(2 / 1.04), GainOf("block.fc2.weight"), 6);
        Assert.Equal(1.0, GainOf("fc3.weight"), 12);
        Assert.All(summary.Initialized.Where(i => i.Parameter.EndsWith("bias")), b => Assert.Null(b.Scheme));
        Assert.Equal(0, TestModels.Values(((Linear)model.named_children().First().module).bias!).Sum(Math.Abs));
    }

    [Fact]
    public void Unknown_modules_with_parameters_are_left_untouched_and_listed()
    {
        torch.manual_seed(29);
        var norm = BatchNorm1d(4);
        var custom = new Scaler();
        var model = Sequential(("fc", Linear(4, 4)), ("bn", norm), ("act", ReLU()), ("scale", custom));
        var before = TestModels.Values(custom.scale);
        var summary = Init.Apply(model, InitScheme.HeNormal);
        var skipped = Assert.Single(summary.Skipped);
        Assert.Equal("scale", skipped.Module);
        Assert.Equal(nameof(Scaler), skipped.Type);
        Assert.Equal(before, TestModels.Values(custom.scale));
        Assert.Equal(Math.Sqrt(2), summary.Initialized.Single(p => p.Parameter == "fc.weight").Gain, 12); // looked past the BatchNorm
        Assert.Contains("skipped scale (Scaler)", summary.ToString());
        Assert.DoesNotContain(summary.Initialized, p => p.Parameter.StartsWith("bn."));
    }

    [Theory]
    [InlineData(0, 1, 1.0, "fanIn")]
    [InlineData(1, -1, 1.0, "fanOut")]
    [InlineData(1, 1, double.NaN, "gain")]
    public void StdFor_rejects_bad_arguments_by_name(long fanIn, long fanOut, double gain, string name) =>
        Assert.Equal(name, Assert.Throws<ArgumentOutOfRangeException>(() => Init.StdFor(InitScheme.HeNormal, fanIn, fanOut, gain)).ParamName);

    private sealed class Scaler : Module<Tensor, Tensor>
    {
        public readonly Parameter scale = new(torch.full(4, 3.0f));

        public Scaler() : base(nameof(Scaler)) => RegisterComponents();

        public override Tensor forward(Tensor x) => x * scale;
    }
}
