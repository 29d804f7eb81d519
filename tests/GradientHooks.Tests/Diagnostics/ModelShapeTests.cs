using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using GradientHooks.Initialization;
using GradientHooks.Layers;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Diagnostics;

/// <summary>
/// The diagnosis on models written the way TorchSharp users write them (layers in fields, <c>.forward()</c> calls,
/// functional activations, ModuleList), and remedies that fit the model in front of it.
/// </summary>
public class ModelShapeTests(ITestOutputHelper output)
{
    /// <summary>The TorchSharp examples' MNIST shape, for 8×8 inputs: fields, <c>.forward()</c> everywhere.</summary>
    private sealed class FieldCnn : Module<Tensor, Tensor>
    {
        private readonly Module<Tensor, Tensor> conv1 = Conv2d(1, 8, 3);
        private readonly Module<Tensor, Tensor> conv2 = Conv2d(8, 16, 3);
        private readonly Module<Tensor, Tensor> fc1 = Linear(16 * 2 * 2, 32);
        private readonly Module<Tensor, Tensor> fc2 = Linear(32, 4);
        private readonly Module<Tensor, Tensor> pool = MaxPool2d(kernel_size: new long[] { 2, 2 });
        private readonly Module<Tensor, Tensor> relu1 = ReLU();
        private readonly Module<Tensor, Tensor> relu2 = ReLU();
        private readonly Module<Tensor, Tensor> relu3 = ReLU();
        private readonly Module<Tensor, Tensor> flatten = Flatten();

        public FieldCnn() : base(nameof(FieldCnn)) => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            x = relu2.forward(conv2.forward(relu1.forward(conv1.forward(x))));
            x = relu3.forward(fc1.forward(flatten.forward(pool.forward(x))));
            return fc2.forward(x);
        }
    }

    /// <summary>Four classes of 8×8 images: a bright quadrant plus noise.</summary>
    private static (Tensor X, Tensor Y) Quadrants(int n = 256)
    {
        torch.manual_seed(41);
        var y = torch.randint(0, 4, new long[] { n });
        var x = torch.rand(n, 1, 8, 8) * 0.3;
        using (torch.no_grad())
            for (int i = 0; i < n; i++)
            {
                int q = (int)y[i].item<long>();
                x[i, 0, TensorIndex.Slice(q / 2 * 4, q / 2 * 4 + 4), TensorIndex.Slice(q % 2 * 4, q % 2 * 4 + 4)] += 1;
            }
        return (x, y);
    }

    private static Diagnosis Train(Module<Tensor, Tensor> model, Tensor x, Tensor y, Func<IEnumerable<Parameter>, optim.Optimizer> optimizer, int steps,
        IClippingPolicy? clipping = null, MonitorOptions? options = null, Action<GradientMonitor>? inspect = null)
    {
        using var monitor = GradientMonitor.Attach(model, options);
        using var guarded = monitor.Guard(optimizer(model.parameters()), clipping);
        var generator = new Random(1);
        for (int s = 0; s < steps; s++)
        {
            using var scope = torch.NewDisposeScope();
            var index = torch.tensor(Enumerable.Range(0, 32).Select(_ => (long)generator.Next((int)x.shape[0])).ToArray());
            guarded.zero_grad();
            var loss = functional.cross_entropy(model.call(x.index_select(0, index)), y.index_select(0, index));
            loss.backward();
            monitor.Capture(loss);
            guarded.step();
        }
        inspect?.Invoke(monitor);
        return monitor.Diagnose();
    }

    [Fact]
    public void Modules_called_with_forward_are_reported_as_unobserved_instead_of_staying_silent()
    {
        var (x, y) = Quadrants();
        torch.manual_seed(42);
        int hooked = 0, activations = -1;
        var d = Train(new FieldCnn(), x, y, p => optim.Adam(p, 1e-3), steps: 30,
            inspect: m => { hooked = m.HookedActivationCount; activations = m.History.Sum(r => r.Activations.Count); });
        output.WriteLine(d.ToString());
        Assert.Equal(3, hooked);
        Assert.Equal(0, activations);
        var f = d.Findings.Single(f => f.Kind == FindingKind.ActivationsNotObserved);
        Assert.Equal(Severity.Info, f.Severity);
        Assert.Equal(new[] { "relu1", "relu2", "relu3" }, f.Layers);
        Assert.Contains(f.Remedies, r => r.Detail.Contains("relu1.call(x) instead of relu1.forward(x)"));
        Assert.True(d.IsHealthy, d.ToString());
    }

    [Fact]
    public void A_learning_rate_that_kills_every_ReLU_is_dying_relu_naming_the_dead_layers_never_vanishing()
    {
        var (x, y) = Quadrants();
        torch.manual_seed(43);
        var d = Train(new FieldCnn(), x, y, p => optim.Adam(p, 0.5), steps: 50);
        output.WriteLine(d.ToString());
        Assert.False(d.Has(FindingKind.VanishingGradients));
        Assert.DoesNotContain("Infinity", d.ToString());
        var f = d.Findings.Single(f => f.Kind == FindingKind.DyingRelu);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.Equal(new[] { "conv1", "conv2", "fc1" }, f.Layers);
        Assert.Equal(1.0, d.Layers.Single(l => l.Layer == "conv1").DeadUnitFraction);
        Assert.Equal(1.0, d.Layers.Single(l => l.Layer == "conv2").DeadUnitFraction);
        Assert.True(d.Layers.Single(l => l.Layer == "fc1").DeadUnitFraction > 0.9);
        // Remedies that work on this custom module: the in-place swap; BatchNorm as the code to write, with the sizes.
        Assert.Contains(f.Remedies, r => r.Detail.Contains("ActivationSwap.Replace(model, Activation.ReLU, Activation.LeakyReLU) replaces relu1, relu2, relu3 in place"));
        Assert.Contains(d.Findings.SelectMany(x => x.Remedies), r => r.Kind == RemedyKind.BatchNorm && r.Detail.Contains("bn1 = BatchNorm2d(8) after conv1"));
        Assert.DoesNotContain(d.Findings.SelectMany(x => x.Remedies), r => r.Detail.StartsWith("Normalising each layer's pre-activations keeps them out of saturation and the per-layer gain near one: model = Normalization.InsertBatchNorm(model)"));
        Assert.DoesNotContain(d.Findings.SelectMany(x => x.Remedies), r => r.Kind == RemedyKind.RaiseLearningRate);
    }

    /// <summary>A deep MLP in a ModuleList with functional sigmoid.</summary>
    private sealed class FunctionalSigmoid : Module<Tensor, Tensor>
    {
        private readonly ModuleList<Module<Tensor, Tensor>> layers = new();
        public FunctionalSigmoid(int depth) : base(nameof(FunctionalSigmoid))
        {
            for (int i = 0; i < depth; i++) layers.Add(Linear(i == 0 ? 64 : 16, 16));
            layers.Add(Linear(16, 4));
            RegisterComponents();
        }
        public override Tensor forward(Tensor x)
        {
            x = x.reshape(x.shape[0], -1);
            for (int i = 0; i < layers.Count - 1; i++) x = functional.sigmoid(layers[i].forward(x));
            return layers[layers.Count - 1].forward(x);
        }
    }

    [Fact]
    public void A_deep_functional_sigmoid_ModuleList_is_vanishing_with_the_line_to_change()
    {
        var (x, y) = Quadrants();
        torch.manual_seed(44);
        var d = Train(new FunctionalSigmoid(10), x, y, p => optim.SGD(p, 0.1), steps: 30);
        output.WriteLine(d.ToString());
        var f = d.Findings.Single(f => f.Kind == FindingKind.VanishingGradients);
        Assert.Contains("layers.0", f.Layers);
        Assert.False(d.Has(FindingKind.DyingRelu));
        Assert.Contains(f.Remedies, r => r.Kind == RemedyKind.SwapToRelu && r.Detail.Contains("FunctionalSigmoid.forward (functional.sigmoid)"));
        Assert.Contains(d.Findings, x => x.Kind == FindingKind.ActivationsNotObserved && x.Evidence.Any(e => e.Contains("FunctionalSigmoid.forward calls functional.sigmoid")));
    }

    [Fact]
    public void Remedies_already_in_place_are_not_offered()
    {
        // He-initialised, batch-normalised, and the guard already clips: a learning rate of 3 still explodes it.
        var (x, y) = Quadrants();
        torch.manual_seed(45);
        var model = Normalization.InsertBatchNorm(Sequential(("flat", Flatten()), ("fc1", Linear(64, 32)), ("act1", ReLU()), ("fc2", Linear(32, 32)), ("act2", ReLU()), ("out", Linear(32, 4))));
        Init.Apply(model, InitScheme.HeNormal);
        ModelProfile? profile = null;
        var d = Train(model, x, y, p => optim.SGD(p, 3.0), steps: 40, clipping: Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(100)), inspect: m => profile = m.Profile);
        output.WriteLine(d.ToString());
        Assert.True(profile!.HeInitialized);
        Assert.True(profile.HasNormalization);
        Assert.True(profile.ClipsGradients);
        Assert.Equal("Clip.Chain(Clip.SkipNonFinite(), Clip.GlobalNorm(100, 2))", profile.Clipping);
        var remedies = d.Findings.SelectMany(f => f.Remedies).ToList();
        Assert.DoesNotContain(remedies, r => r.Kind is RemedyKind.HeInit or RemedyKind.BatchNorm or RemedyKind.SkipNonFinite);
        Assert.DoesNotContain(remedies, r => r.Kind == RemedyKind.GlobalNormClipping && !r.Detail.Contains("already applies"));
    }

    [Fact]
    public void InsertBatchNorm_on_a_custom_module_says_which_fields_to_add_and_leaves_it_unchanged()
    {
        var model = new FieldCnn();
        var before = model.named_modules().Select(m => m.name).ToList();
        var e = Assert.Throws<ArgumentException>(() => Normalization.InsertBatchNorm(model));
        Assert.Contains("FieldCnn is a custom module", e.Message);
        Assert.Contains("bn1 = BatchNorm2d(8);   // after conv1", e.Message);
        Assert.Contains("bn3 = BatchNorm1d(32);   // after fc1", e.Message);
        Assert.Contains("act(bn1.forward(conv1.forward(x)))", e.Message);
        Assert.Equal(before, model.named_modules().Select(m => m.name).ToList());
    }
}
