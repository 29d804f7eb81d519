using GradientHooks.Initialization;
using GradientHooks.Layers;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Layers;

/// <summary>The in-place swap on the models users write: fields, ModuleList, ModuleDict, nested Sequentials, functional calls.</summary>
public class ActivationSwapModuleTests
{
    /// <summary>Activations held every way a custom module holds them.</summary>
    private sealed class Mixed : Module<Tensor, Tensor>
    {
        private readonly Module<Tensor, Tensor> fc1 = Linear(4, 8);
        private readonly Module<Tensor, Tensor> act1 = ReLU();                       // a field typed as the interface
        private readonly ModuleList<Module<Tensor, Tensor>> blocks = new(Linear(8, 8), ReLU(), Linear(8, 8));
        private readonly ModuleDict<Module<Tensor, Tensor>> heads = new();
        private readonly Sequential tail = Sequential(("fc", Linear(8, 8)), ("act", ReLU()));
        private readonly ReLU pinned = ReLU();                                       // a field typed as ReLU: cannot hold LeakyReLU

        public Mixed() : base(nameof(Mixed))
        {
            heads.Add("act", ReLU());
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            x = act1.forward(fc1.forward(x));
            foreach (var b in blocks) x = b.forward(x);
            x = heads["act"].forward(x);
            x = tail.forward(x);
            x = pinned.forward(x);
            return functional.relu(x) + x.relu();   // two functional calls
        }
    }

    [Fact]
    public void Replaces_in_place_wherever_the_module_is_held_and_reports_what_it_cannot_reach()
    {
        torch.manual_seed(31);
        var model = new Mixed();
        var before = model.parameters().ToList();
        var result = ActivationSwap.Replace(model, Activation.ReLU, Activation.LeakyReLU);

        Assert.Same(model, result.Model);
        Assert.Equal(new[] { "act1", "blocks.1", "heads.act", "tail.act" }, result.Replaced.Select(c => c.Path).OrderBy(p => p));
        Assert.Contains(result.Replaced, c => c.Path == "act1" && c.HeldBy == "field act1" && c.To == "LeakyReLU");
        Assert.Contains(result.Replaced, c => c.Path == "blocks.1" && c.HeldBy == "ModuleList index 1");
        Assert.Contains(result.Replaced, c => c.Path == "heads.act" && c.HeldBy == "ModuleDict key \"act\"");
        Assert.Contains(result.Replaced, c => c.Path == "tail.act" && c.HeldBy == "Sequential child \"act\"");
        Assert.Contains(result.Unreachable, u => u.StartsWith("pinned (ReLU): field Mixed.pinned is declared as ReLU"));
        Assert.Contains(result.Unreachable, u => u.Contains("Mixed.forward calls functional.relu (1×)") && u.Contains("functional.leaky_relu(x, 0.01)"));
        Assert.Contains(result.Unreachable, u => u.Contains("Mixed.forward calls Tensor.relu (1×)"));

        // The registry (named_modules) and the code path (forward through the fields) both see the new modules.
        var types = model.named_modules().ToDictionary(m => m.name, m => m.module.GetType().Name);
        Assert.Equal("LeakyReLU", types["act1"]);
        Assert.Equal("LeakyReLU", types["blocks.1"]);
        Assert.Equal("LeakyReLU", types["heads.act"]);
        Assert.Equal("LeakyReLU", types["tail.act"]);
        Assert.Equal("ReLU", types["pinned"]);
        Assert.Equal(before, model.parameters().ToList());   // the same weights, not copies
    }

    /// <summary>The swapped model computes LeakyReLU(0.01) where it computed ReLU: checked against the forward written out by hand.</summary>
    private sealed class Plain : Module<Tensor, Tensor>
    {
        public readonly Linear fc1 = Linear(3, 5);
        private readonly Module<Tensor, Tensor> act = ReLU();
        public readonly Linear fc2 = Linear(5, 2);
        public Plain() : base(nameof(Plain)) => RegisterComponents();
        public override Tensor forward(Tensor x) => fc2.forward(act.forward(fc1.forward(x)));
    }

    [Fact]
    public void The_forward_uses_the_new_activation_even_through_forward_calls()
    {
        torch.manual_seed(32);
        var model = new Plain();
        var x = torch.randn(16, 3);
        var result = ActivationSwap.Replace(model, Activation.ReLU, Activation.LeakyReLU);
        Assert.Single(result.Replaced);
        Assert.Empty(result.Unreachable);
        using var noGrad = torch.no_grad();
        var expected = model.fc2.forward(functional.leaky_relu(model.fc1.forward(x), 0.01));
        Assert.True(model.forward(x).allclose(expected, 1e-6, 1e-6));
        Assert.True(model.call(x).allclose(expected, 1e-6, 1e-6));
    }

    [Fact]
    public void A_module_shared_by_two_fields_is_replaced_by_one_new_module_shared_the_same_way()
    {
        var shared = ReLU();
        var model = new SharedTwice(shared);
        var result = ActivationSwap.Replace(model, Activation.ReLU, Activation.Tanh);
        Assert.Equal(2, result.Replaced.Count);
        Assert.Same(model.A, model.B);
        Assert.IsType<Tanh>(model.A);
    }

    private sealed class SharedTwice : Module<Tensor, Tensor>
    {
        public Module<Tensor, Tensor> A;
        public Module<Tensor, Tensor> B;
        public SharedTwice(Module<Tensor, Tensor> act) : base(nameof(SharedTwice)) { A = act; B = act; RegisterComponents(); }
        public override Tensor forward(Tensor x) => B.forward(A.forward(x));
    }

    [Fact]
    public void Functional_activations_are_found_in_forward_and_in_the_helpers_it_calls()
    {
        var calls = GradientHooks.ModelReading.ForwardScanner.Scan(new Helpers());
        Assert.Contains(calls, c => c.Method == "Helpers.forward" && c.Function == "functional.sigmoid" && c.Activation == Activation.Sigmoid);
        Assert.Contains(calls, c => c.Method == "Helpers.Block" && c.Function == "torch.tanh" && c.Activation == Activation.Tanh);
        Assert.DoesNotContain(calls, c => c.Function.Contains("softmax"));
    }

    private sealed class Helpers : Module<Tensor, Tensor>
    {
        private readonly Linear fc = Linear(2, 2);
        public Helpers() : base(nameof(Helpers)) => RegisterComponents();
        private Tensor Block(Tensor x) => torch.tanh(fc.forward(x));
        public override Tensor forward(Tensor x) => functional.softmax(functional.sigmoid(Block(x)), 1);
    }
}
