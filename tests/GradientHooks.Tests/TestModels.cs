using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests;

/// <summary>Small seeded models and data for the tests.</summary>
internal static class TestModels
{
    public static Sequential Mlp(int seed = 1, int input = 8, int hidden = 16, int output = 3, string activation = "relu")
    {
        torch.manual_seed(seed);
        Module<Tensor, Tensor> Act() => activation switch
        {
            "sigmoid" => Sigmoid(),
            "tanh" => Tanh(),
            _ => ReLU(),
        };
        return Sequential(
            ("fc1", Linear(input, hidden)), ("act1", Act()),
            ("fc2", Linear(hidden, hidden)), ("act2", Act()),
            ("fc3", Linear(hidden, output)));
    }

    /// <summary>A deep MLP: fc1, act1, ..., fc{depth-1}, act{depth-1}, fc{depth}.</summary>
    public static Sequential Deep(int depth, int width, Func<Module<Tensor, Tensor>> activation, int input = 2, int classes = 2)
    {
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        for (int i = 1; i < depth; i++)
        {
            layers.Add(($"fc{i}", Linear(i == 1 ? input : width, width)));
            layers.Add(($"act{i}", activation()));
        }
        layers.Add(($"fc{depth}", Linear(width, classes)));
        return Sequential(layers);
    }

    public static (Tensor X, Tensor Y) Batch(int seed = 2, int batch = 32, int input = 8, int classes = 3)
    {
        torch.manual_seed(seed);
        return (torch.randn(batch, input), torch.randint(0, classes, new long[] { batch }));
    }

    /// <summary>Forward, cross-entropy, backward; returns the loss value.</summary>
    public static double Backward(Module<Tensor, Tensor> model, Tensor x, Tensor y)
    {
        using var scope = torch.NewDisposeScope();
        var loss = functional.cross_entropy(model.call(x), y);
        loss.backward();
        return loss.item<float>();
    }

    /// <summary>One drop-in training step: zero_grad, forward, cross-entropy, backward, Capture(loss), step.</summary>
    public static void TrainStep(Module<Tensor, Tensor> model, GradientMonitor monitor, torch.optim.Optimizer optimizer, Tensor x, Tensor y)
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        var loss = functional.cross_entropy(model.call(x), y);
        loss.backward();
        monitor.Capture(loss);
        optimizer.step();
    }

    /// <summary>The gradient of <paramref name="p"/> as doubles, read element by element on the host.</summary>
    public static double[] GradValues(Parameter p)
    {
        using var scope = torch.NewDisposeScope();
        return p.grad!.to_type(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    public static double[] Values(Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        return t.detach().to_type(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    public static double L2(IEnumerable<double> values) => Math.Sqrt(values.Sum(v => v * v));

    /// <summary>Forward hooks registered on <paramref name="module"/> (TorchSharp keeps them in a private field of Module&lt;T, TResult&gt;).</summary>
    public static int PostHookCount(Module module)
    {
        for (var type = module.GetType(); type != null; type = type.BaseType)
        {
            var field = type.GetField("post_hooks", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);
            if (field != null) return ((System.Collections.ICollection)field.GetValue(module)!).Count;
        }
        throw new InvalidOperationException($"{module.GetType().Name} has no post_hooks field: TorchSharp's hook storage changed.");
    }

    /// <summary>Forward hooks on every module of <paramref name="model"/>, itself included.</summary>
    public static int TotalPostHooks(Module model) =>
        new[] { model }.Concat(model.named_modules().Select(m => m.module)).Distinct().Sum(PostHookCount);

    /// <summary>
    /// Process-wide live tensors (<c>Tensor.TotalCount</c>) after the finalizers of unreachable ones have run: finalizing
    /// an object can make more unreachable (a module's tensors), so collect until the count settles. Take the later
    /// reading without collecting, so that a tensor a step leaves to the GC counts as a leak.
    /// </summary>
    public static long LiveTensors()
    {
        long count = -1;
        for (int i = 0; i < 10 && count != torch.Tensor.TotalCount; i++)
        {
            count = torch.Tensor.TotalCount;
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return torch.Tensor.TotalCount;
    }
}
