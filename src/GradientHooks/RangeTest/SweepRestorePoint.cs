using GradientHooks.Guard;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.RangeTest;

/// <summary>
/// Everything a learning-rate range test changes, copied before it and put back after it, in place (the live tensors
/// keep their identity): the weights and the optimizer's per-parameter state (the guard's <see cref="TrainingSnapshot"/>),
/// the model's buffers (BatchNorm's running statistics move in every training forward pass), every gradient (or its
/// absence) and every parameter group's learning rate.
/// </summary>
internal sealed class SweepRestorePoint : IDisposable
{
    private readonly TrainingSnapshot _snapshot;
    private readonly (Tensor Live, Tensor Copy)[] _buffers;
    private readonly (Parameter Parameter, Tensor? Grad)[] _grads;
    private readonly (optim.ILearningRateController Group, double Rate)[] _rates;

    public SweepRestorePoint(Module model, optim.Optimizer optimizer, OptimizerHelper stateful)
    {
        using var noGrad = torch.no_grad();
        var stepped = optimizer.parameters().ToArray();
        _snapshot = new TrainingSnapshot(stepped, stateful);
        if (!_snapshot.TryTake(0))
            throw new ArgumentException("The model's weights or the optimizer's state hold NaN/Inf: a range test needs a model that computes a loss. Re-initialise it first.", nameof(model));
        _buffers = model.buffers().Where(b => b is not null && !b.IsInvalid).Select(b => (b, b.detach().clone().DetachFromDisposeScope())).ToArray();
        _grads = model.parameters().Concat(stepped).Distinct().Select(p => (p, p.grad is { } g ? g.detach().clone().DetachFromDisposeScope() : null)).ToArray();
        _rates = optimizer.ParamGroups.Select(g => (g, g.LearningRate)).ToArray();
    }

    /// <summary>Puts back the weights, the optimizer's state, the buffers, the gradients and the learning rates.</summary>
    public void Restore()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        _snapshot.Restore();
        foreach (var (live, copy) in _buffers) live.copy_(copy);
        foreach (var (p, grad) in _grads)
        {
            var current = p.grad;
            if (grad is null) { if (current is not null) p.grad = null; }
            else if (current is not null && current.shape.SequenceEqual(grad.shape)) current.copy_(grad);
            else p.grad = grad.clone().DetachFromDisposeScope();
        }
        foreach (var (group, rate) in _rates) group.LearningRate = rate;
    }

    public void Dispose()
    {
        _snapshot.Dispose();
        foreach (var (_, copy) in _buffers) copy.Dispose();
        foreach (var (_, grad) in _grads) grad?.Dispose();
    }
}
