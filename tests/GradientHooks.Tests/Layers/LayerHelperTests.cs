using GradientHooks.Initialization;
using GradientHooks.Layers;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Layers;

public class LayerHelperTests
{
    private static Sequential Nested() => Sequential(
        ("fc1", Linear(4, 8)), ("act1", Sigmoid()),
        ("block", Sequential(("fc2", Linear(8, 8)), ("drop", Dropout(0.0)), ("act2", Sigmoid()))),
        ("out", Linear(8, 2)));

    [Fact]
    public void InsertBatchNorm_adds_a_named_layer_before_each_activation_and_shares_the_weights()
    {
        torch.manual_seed(31);
        var model = Nested();
        var bn = Normalization.InsertBatchNorm(model);
        var names = bn.named_modules().Select(m => m.name).ToList();
        Assert.Equal(new[] { "fc1", "fc1_bn", "act1", "block", "out" }, bn.named_children().Select(c => c.name));
        Assert.Contains("block.fc2_bn", names);
        Assert.IsType<BatchNorm1d>(bn.named_children().ElementAt(1).module);
        Assert.Same(model.named_children().First().module, bn.named_children().First().module);
        var fc1 = (Linear)model.named_children().First().module;
        using (torch.no_grad()) fc1.weight![0, 0] = 42f;
        Assert.Equal(42f, ((Linear)bn.named_children().First().module).weight![0, 0].item<float>());
        Assert.DoesNotContain("out_bn", names);                       // the output layer feeds no activation
    }

    [Fact]
    public void The_normalised_model_trains_and_switches_between_train_and_eval()
    {
        torch.manual_seed(32);
        var model = Normalization.InsertBatchNorm(Nested(), NormalizationKind.BatchNorm);
        var x = torch.randn(16, 4);
        var y = torch.randint(0, 2, new long[] { 16 });
        var optimizer = torch.optim.SGD(model.parameters(), 0.1);
        var bnLayer = (BatchNorm1d)model.named_children().ElementAt(1).module;
        var runningBefore = TestModels.Values(bnLayer.running_mean!);
        double first = 0, last = 0;
        for (int i = 0; i < 20; i++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            optimizer.step();
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first, $"loss {first} -> {last}");
        Assert.NotEqual(runningBefore, TestModels.Values(bnLayer.running_mean!));

        model.eval();
        Assert.False(bnLayer.training);
        using (torch.no_grad())
        {
            var a = TestModels.Values(model.call(x));
            var b = TestModels.Values(model.call(x.narrow(0, 0, 1)));   // eval uses running statistics: batch of one works
            Assert.Equal(a.Take(2).ToArray(), b, new Tolerance(1e-5));
        }
        model.train();
        Assert.True(bnLayer.training);
    }

    [Fact]
    public void LayerNorm_variant_inserts_LayerNorm()
    {
        var model = Normalization.InsertBatchNorm(Nested(), NormalizationKind.LayerNorm);
        Assert.IsType<LayerNorm>(model.named_children().ElementAt(1).module);
    }

    [Fact]
    public void ActivationSwap_replaces_nested_activations_and_shares_everything_else()
    {
        var model = Nested();
        var swapped = ActivationSwap.Replace(model, Activation.Sigmoid, Activation.ReLU);
        Assert.IsType<ReLU>(swapped.named_children().ElementAt(1).module);
        Assert.IsType<ReLU>(swapped.named_modules().Single(m => m.name == "block.act2").module);
        Assert.Same(model.named_children().First().module, swapped.named_children().First().module);
        Assert.IsType<Sigmoid>(model.named_children().ElementAt(1).module);   // the original is unchanged
        Assert.Equal(model.parameters().Count(), swapped.parameters().Count());
    }

    [Fact]
    public void InsertBatchNorm_on_a_module_that_is_not_a_Sequential_says_what_to_write_instead()
    {
        Module<Tensor, Tensor> linear = Linear(2, 2);
        var e1 = Assert.Throws<ArgumentException>(() => Normalization.InsertBatchNorm((nn.Module)linear));
        Assert.Contains("torch.nn.Sequential models only", e1.Message);
        Assert.Contains("Linear", e1.Message);
        Assert.Equal("model", e1.ParamName);
        Assert.Throws<ArgumentException>(() => ActivationSwap.Replace(Nested(), Activation.Linear, Activation.ReLU));
    }

    private sealed class Tolerance(double eps) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= eps;
        public int GetHashCode(double d) => 0;
    }
}
