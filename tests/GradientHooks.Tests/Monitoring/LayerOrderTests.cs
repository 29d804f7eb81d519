using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Monitoring;

/// <summary>
/// Layers are ordered by data flow, whatever order they are declared in: the expected order of each model below is
/// the order its forward() runs them, written by hand; the monitor must find it from hooks, from the IL of forward(),
/// or say it fell back to declaration order.
/// </summary>
public class LayerOrderTests
{
    private static (LayerOrder Order, StepRecord Record) Observe(Module<Tensor, Tensor> model, long inputs = 4, Tensor? input = null)
    {
        using var monitor = GradientMonitor.Attach(model);
        using var scope = torch.NewDisposeScope();
        var x = input ?? torch.randn(8, inputs);
        model.call(x).square().mean().backward();
        var record = monitor.Capture();
        Assert.NotNull(monitor.Profile.LayerOrder);
        return (monitor.Profile.LayerOrder!, record);
    }

    [Fact]
    public void A_head_declared_first_comes_last_when_forward_calls_children_with_forward()
    {
        torch.manual_seed(1);
        var (order, record) = Observe(new HeadFirst(useCall: false));
        Assert.Equal(new[] { "body.0", "body.1", "body.2", "head" }, order.Layers);
        Assert.Equal(LayerOrderSource.ForwardIL, order.Source);
        Assert.Equal(new[] { "body.0", "body.1", "body.2", "head" }, record.Layers.Select(l => l.Layer));
        Assert.Equal(new[] { 0, 1, 2, 3 }, record.Layers.Select(l => l.Depth));
    }

    [Fact]
    public void A_head_declared_first_comes_last_when_forward_calls_children_with_call()
    {
        torch.manual_seed(1);
        var (order, _) = Observe(new HeadFirst(useCall: true));
        Assert.Equal(new[] { "body.0", "body.1", "body.2", "head" }, order.Layers);
        Assert.Equal(LayerOrderSource.Hooks, order.Source);
    }

    [Fact]
    public void Layers_declared_in_reverse_and_called_in_one_nested_expression_are_ordered_by_the_calls_not_the_loads()
    {
        torch.manual_seed(1);
        var (order, _) = Observe(new Reversed());
        Assert.Equal(new[] { "fc1", "fc2", "fc3" }, order.Layers);
        Assert.Equal(LayerOrderSource.ForwardIL, order.Source);
    }

    [Fact]
    public void A_foreach_over_a_ModuleList_and_a_helper_method_are_followed()
    {
        torch.manual_seed(1);
        var (order, _) = Observe(new ForeachBlocks());
        Assert.Equal(new[] { "stem", "blocks.0", "blocks.1", "out" }, order.Layers);
        Assert.Equal(LayerOrderSource.ForwardIL, order.Source);
    }

    [Fact]
    public void A_field_cast_to_its_runtime_type_before_the_call_is_still_that_field()
    {
        torch.manual_seed(1);
        var (order, _) = Observe(new CastBeforeCall(), input: torch.randint(0, 10, new long[] { 2, 5 }));
        Assert.Equal(new[] { "embed", "rnn", "decoder" }, order.Layers);
        Assert.Equal(LayerOrderSource.ForwardIL, order.Source);
    }

    [Fact]
    public void A_shared_layer_keeps_its_first_position_and_a_layer_never_called_comes_last()
    {
        torch.manual_seed(1);
        var (order, record) = Observe(new SharedAndUnused());
        Assert.Equal(new[] { "first", "shared", "last", "unused" }, order.Layers);
        Assert.Contains("unused.weight", record.MissingGradients);
    }

    [Fact]
    public void A_forward_that_runs_its_layers_through_delegates_falls_back_to_declaration_and_says_so()
    {
        torch.manual_seed(1);
        var (order, _) = Observe(new ThroughDelegates());
        Assert.Equal(LayerOrderSource.Declaration, order.Source);
        Assert.Equal(new[] { "b", "a" }, order.Layers);   // declared b, a; run a then b: the IL cannot see it
    }

    [Fact]
    public void The_diagnosis_says_when_the_order_is_only_declaration_order_and_which_layers_never_get_a_gradient()
    {
        torch.manual_seed(1);
        var model = new ThroughDelegates();
        using var monitor = GradientMonitor.Attach(model);
        for (int i = 0; i < 6; i++)
        {
            using var scope = torch.NewDisposeScope();
            model.zero_grad();
            model.call(torch.randn(8, 4)).square().mean().backward();
            monitor.Capture();
        }
        var d = monitor.Diagnose();
        var order = Assert.Single(d.Findings, f => f.Kind == GradientHooks.Diagnostics.FindingKind.LayerOrderUnknown);
        Assert.Equal(GradientHooks.Diagnostics.Severity.Info, order.Severity);
        Assert.Contains("ThroughDelegates", order.Summary);

        torch.manual_seed(1);
        var unused = new SharedAndUnused();
        using var second = GradientMonitor.Attach(unused);
        for (int i = 0; i < 6; i++)
        {
            using var scope = torch.NewDisposeScope();
            unused.zero_grad();
            unused.call(torch.randn(8, 4)).square().mean().backward();
            second.Capture();
        }
        var u = Assert.Single(second.Diagnose().Findings, f => f.Kind == GradientHooks.Diagnostics.FindingKind.UnusedLayers);
        Assert.Equal(new[] { "unused" }, u.Layers);
        Assert.DoesNotContain(second.Diagnose().Findings, f => f.Kind == GradientHooks.Diagnostics.FindingKind.LayerOrderUnknown);
    }

    [Fact]
    public void A_Sequential_is_ordered_by_hooks()
    {
        var (order, _) = Observe(TestModels.Mlp(input: 4));
        Assert.Equal(new[] { "fc1", "fc2", "fc3" }, order.Layers);
        Assert.Equal(LayerOrderSource.Hooks, order.Source);
    }

    [Fact]
    public void A_module_parameter_used_before_the_layers_is_placed_first()
    {
        torch.manual_seed(1);
        var (order, _) = Observe(new OwnParameterFirst());
        Assert.Equal(new[] { ParameterInfo.RootLayer, "fc" }, order.Layers);
    }

    [Fact]
    public void A_transformer_language_model_with_its_head_declared_first_ends_with_the_head()
    {
        torch.manual_seed(1);
        var model = new TinyTransformerLm(vocab: 20, width: 16);
        var (order, record) = Observe(model, input: torch.randint(0, 20, new long[] { 2, 5 }));
        Assert.Equal("embed", order.Layers[0]);
        Assert.Equal("head", order.Layers[^1]);
        var layer0 = order.Layers.Where(l => l.StartsWith("encoder.layers.0.", StringComparison.Ordinal)).ToList();
        Assert.Equal(new[] { "encoder.layers.0.self_attn", "encoder.layers.0.self_attn.out_proj", "encoder.layers.0.norm1", "encoder.layers.0.linear1", "encoder.layers.0.linear2", "encoder.layers.0.norm2" }, layer0);
        Assert.Equal("head", record.Layers[^1].Layer);
    }

    [Fact]
    public void The_pre_hooks_are_removed_after_the_first_steps()
    {
        var model = TestModels.Mlp(input: 4);
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { TrackActivations = false });
        for (int i = 0; i < 4; i++)
        {
            using var scope = torch.NewDisposeScope();
            model.zero_grad();
            model.call(torch.randn(8, 4)).square().mean().backward();
            monitor.Capture();
        }
        foreach (var (_, m) in model.named_modules().Prepend(("", model)))
            Assert.Equal(0, PreHookCount(m));
    }

    private static int PreHookCount(Module module)
    {
        int count = 0;
        for (var type = module.GetType(); type != null; type = type.BaseType)
            foreach (var name in new[] { "pre_hooks", "module_pre_hooks" })
                if (type.GetField(name, System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.DeclaredOnly) is { } f)
                    count += ((System.Collections.ICollection)f.GetValue(module)!).Count;
        return count;
    }

    private sealed class HeadFirst : Module<Tensor, Tensor>
    {
        private readonly Linear head = Linear(4, 2);
        private readonly ModuleList<Module<Tensor, Tensor>> body = new(Linear(4, 4), Linear(4, 4), Linear(4, 4));
        private readonly bool _call;
        public HeadFirst(bool useCall) : base(nameof(HeadFirst)) { _call = useCall; RegisterComponents(); }
        public override Tensor forward(Tensor x)
        {
            for (int i = 0; i < body.Count; i++) x = functional.sigmoid(_call ? body[i].call(x) : body[i].forward(x));
            return _call ? head.call(x) : head.forward(x);
        }
    }

    private sealed class Reversed : Module<Tensor, Tensor>
    {
        private readonly Linear fc3 = Linear(4, 2);
        private readonly Linear fc2 = Linear(4, 4);
        private readonly Linear fc1 = Linear(4, 4);
        public Reversed() : base(nameof(Reversed)) => RegisterComponents();
        public override Tensor forward(Tensor x) => fc3.forward(functional.relu(fc2.forward(functional.relu(fc1.forward(x)))));
    }

    private sealed class ForeachBlocks : Module<Tensor, Tensor>
    {
        private readonly Linear @out = Linear(4, 2);
        private readonly ModuleList<Module<Tensor, Tensor>> blocks = new(Linear(4, 4), Linear(4, 4));
        private readonly Linear stem = Linear(4, 4);
        public ForeachBlocks() : base(nameof(ForeachBlocks)) => RegisterComponents();
        private Tensor Body(Tensor x)
        {
            foreach (var block in blocks) x = functional.relu(block.forward(x));
            return x;
        }
        public override Tensor forward(Tensor x) => @out.forward(Body(stem.forward(x)));
    }

    /// <summary>The corpus's character model shape: decoder declared before the recurrent layer, which is typed as Module and cast in forward().</summary>
    private sealed class CastBeforeCall : Module<Tensor, Tensor>
    {
        private readonly Embedding embed = Embedding(10, 4);
        private readonly Linear decoder = Linear(6, 10);
        private readonly Module rnn = GRU(4, 6, batchFirst: true);
        public CastBeforeCall() : base(nameof(CastBeforeCall)) => RegisterComponents();
        public override Tensor forward(Tensor x)
        {
            var e = embed.forward(x);
            var (o, _) = rnn is GRU gru ? gru.forward(e) : throw new InvalidOperationException();
            return decoder.forward(o);
        }
    }

    private sealed class SharedAndUnused : Module<Tensor, Tensor>
    {
        private readonly Linear unused = Linear(4, 4);
        private readonly Linear last = Linear(4, 2);
        private readonly Linear shared = Linear(4, 4);
        private readonly Linear first = Linear(4, 4);
        public SharedAndUnused() : base(nameof(SharedAndUnused)) => RegisterComponents();
        public override Tensor forward(Tensor x) => last.forward(shared.forward(shared.forward(first.forward(x)).tanh()));
    }

    private sealed class ThroughDelegates : Module<Tensor, Tensor>
    {
        private readonly Linear b = Linear(4, 2);
        private readonly Linear a = Linear(4, 4);
        private readonly Func<Tensor, Tensor>[] _steps;
        public ThroughDelegates() : base(nameof(ThroughDelegates))
        {
            RegisterComponents();
            _steps = new Func<Tensor, Tensor>[] { t => a.forward(t), t => b.forward(t) };
        }
        public override Tensor forward(Tensor x) => _steps.Aggregate(x, (h, step) => step(h));
    }

    private sealed class OwnParameterFirst : Module<Tensor, Tensor>
    {
        private readonly Linear fc = Linear(4, 2);
        private readonly Parameter shift = Parameter(torch.zeros(4));
        public OwnParameterFirst() : base(nameof(OwnParameterFirst)) => RegisterComponents();
        public override Tensor forward(Tensor x) => fc.forward(x + shift);
    }

    /// <summary>A language model as TorchSharp users write one: head declared first, TorchSharp's native encoder in the middle.</summary>
    internal sealed class TinyTransformerLm : Module<Tensor, Tensor>
    {
        private readonly Linear head;
        private readonly TransformerEncoder encoder;
        private readonly Embedding embed;
        public TinyTransformerLm(int vocab, int width) : base(nameof(TinyTransformerLm))
        {
            head = Linear(width, vocab);
            encoder = TransformerEncoder(TransformerEncoderLayer(width, 2, 32, 0.0), 2);
            embed = Embedding(vocab, width);
            RegisterComponents();
        }
        public override Tensor forward(Tensor tokens) => head.forward(encoder.call(embed.forward(tokens).transpose(0, 1)).transpose(0, 1));
    }
}
