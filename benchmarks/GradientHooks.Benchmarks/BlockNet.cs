using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Benchmarks;

/// <summary>
/// The capture-scaling workload of issue 14: <c>blocks</c> × (Linear(width, width) → LayerNorm → ReLU) then a
/// Linear(width, 10) head, batch 64, SGD. Each block holds four parameter tensors, so 2 × 256 has 10, 12 × 128 has
/// 50, 48 × 64 has 194 and 96 × 32 has 386: many small tensors, as in transformers and ResNets.
/// </summary>
public sealed class BlockNet
{
    public BlockNet(int blocks, int width, int seed = 1)
    {
        torch.manual_seed(seed);
        var layers = new List<(string, Module<Tensor, Tensor>)>();
        for (int b = 0; b < blocks; b++)
        {
            layers.Add(($"fc{b}", Linear(width, width)));
            layers.Add(($"ln{b}", LayerNorm(width)));
            layers.Add(($"act{b}", ReLU()));
        }
        layers.Add(("head", Linear(width, 10)));
        Model = Sequential(layers);
        X = torch.randn(64, width);
        Y = torch.randint(0, 10, new long[] { 64 });
        Optimizer = torch.optim.SGD(Model.parameters(), 0.01);
        Parameters = Model.parameters().ToArray();
    }

    public Sequential Model { get; }
    public Tensor X { get; }
    public Tensor Y { get; }
    public optim.Optimizer Optimizer { get; set; }
    public Parameter[] Parameters { get; }

    /// <summary>zero_grad, forward, loss, backward.</summary>
    public void ForwardBackward()
    {
        Optimizer.zero_grad();
        functional.cross_entropy(Model.call(X), Y).backward();
    }
}
