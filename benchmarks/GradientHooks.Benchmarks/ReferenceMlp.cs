using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Benchmarks;

/// <summary>The reference workload of the issues: MLP 784-512-512-512-10, batch 128, SGD, on the CPU.</summary>
public sealed class ReferenceMlp
{
    public ReferenceMlp(int seed = 1)
    {
        torch.manual_seed(seed);
        Model = Sequential(
            ("fc1", Linear(784, 512)), ("act1", ReLU()),
            ("fc2", Linear(512, 512)), ("act2", ReLU()),
            ("fc3", Linear(512, 512)), ("act3", ReLU()),
            ("fc4", Linear(512, 10)));
        X = torch.randn(128, 784);
        Y = torch.randint(0, 10, new long[] { 128 });
        Optimizer = torch.optim.SGD(Model.parameters(), 0.01);
        Parameters = Model.parameters().ToArray();
    }

    public Sequential Model { get; }
    public Tensor X { get; }
    public Tensor Y { get; }
    public optim.Optimizer Optimizer { get; set; }
    public Parameter[] Parameters { get; }

    /// <summary>zero_grad, forward, loss, backward; the caller decides what happens between backward and step.</summary>
    public Tensor ForwardBackward()
    {
        Optimizer.zero_grad();
        var loss = functional.cross_entropy(Model.call(X), Y);
        loss.backward();
        return loss;
    }
}
