using GradientHooks.Initialization;
using GradientHooks.MLNet.Network;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.MLNet.Tests;

/// <summary>The managed scoring network reproduces libtorch's own forward pass (eval mode) of the trained module.</summary>
public sealed class ScoringNetworkTests
{
    [Theory]
    [InlineData(Activation.ReLU, false)]
    [InlineData(Activation.ReLU, true)]
    [InlineData(Activation.LeakyReLU, true)]
    [InlineData(Activation.ELU, false)]
    [InlineData(Activation.SELU, false)]
    [InlineData(Activation.GELU, true)]
    [InlineData(Activation.Sigmoid, true)]
    [InlineData(Activation.Tanh, false)]
    public void Managed_forward_matches_libtorch_eval_forward(Activation activation, bool batchNorm)
    {
        torch.manual_seed(7);
        using var model = NetworkBuilder.Build(5, new[] { 16, 8 }, 3, activation, batchNorm, InitScheme.XavierNormal);
        using (var scope = torch.NewDisposeScope())
        {
            // A few training-mode passes move BatchNorm's running statistics away from (0, 1), so folding is exercised.
            model.train();
            for (var i = 0; i < 5; i++) model.call(torch.randn(32, 5) * 3 + 1);
            model.eval();
        }
        var network = NetworkExport.ToScoring(model);
        Assert.Equal(batchNorm ? 3 : 3, network.Layers.Count);

        using var scope2 = torch.NewDisposeScope();
        var x = torch.randn(64, 5) * 2;
        var expected = model.call(x).data<float>().ToArray();
        var features = x.data<float>().ToArray();
        var actual = new float[3];
        for (var row = 0; row < 64; row++)
        {
            network.Forward(features.AsSpan(row * 5, 5), actual);
            for (var j = 0; j < 3; j++)
                Assert.True(Math.Abs(expected[row * 3 + j] - actual[j]) <= 1e-5 + 1e-5 * Math.Abs(expected[row * 3 + j]),
                    $"row {row} output {j}: libtorch {expected[row * 3 + j]}, managed {actual[j]}");
        }
    }

    [Fact]
    public void Erf_matches_libtorch_to_float_precision()
    {
        using var scope = torch.NewDisposeScope();
        var x = torch.linspace(-6, 6, 2001, dtype: ScalarType.Float64);
        var reference = torch.special.erf(x).data<double>().ToArray();
        var points = x.data<double>().ToArray();
        for (var i = 0; i < points.Length; i++)
            Assert.True(Math.Abs(ScoringActivations.Erf(points[i]) - reference[i]) < 2e-7, $"erf({points[i]}) = {reference[i]}, got {ScoringActivations.Erf(points[i])}");
    }

    [Fact]
    public void A_network_survives_its_binary_round_trip_bit_for_bit()
    {
        torch.manual_seed(3);
        using var model = NetworkBuilder.Build(4, new[] { 6 }, 2, Activation.GELU, false, InitScheme.HeNormal);
        var network = NetworkExport.ToScoring(model, labelMean: 3.5, labelScale: 0.25);
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) network.Write(writer);
        stream.Position = 0;
        var copy = ScoringNetwork.Read(new BinaryReader(stream));
        Assert.Equal(network.LabelMean, copy.LabelMean);
        Assert.Equal(network.LabelScale, copy.LabelScale);
        for (var i = 0; i < network.Layers.Count; i++)
        {
            Assert.Equal(network.Layers[i].Weight, copy.Layers[i].Weight);
            Assert.Equal(network.Layers[i].Bias, copy.Layers[i].Bias);
            Assert.Equal(network.Layers[i].Activation, copy.Layers[i].Activation);
        }
        stream.Position = 0;
        stream.WriteByte(0);
        stream.Position = 0;
        Assert.Throws<InvalidDataException>(() => ScoringNetwork.Read(new BinaryReader(stream)));
    }
}
