using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.MLNet.Training;

/// <summary>
/// The training rows split into the rows trained on and a held-out sample for the validation loss: a random
/// permutation from libtorch's global generator (seeded by <c>TorchMlpOptions.Seed</c>), the first ⌊fraction · n⌋ rows
/// held out. With fraction 0 (or fewer than two rows to hold out, or too few left to train), nothing is held out and
/// the training tensors are the inputs themselves.
/// </summary>
internal sealed class HoldOut : IDisposable
{
    private HoldOut(Tensor trainX, Tensor trainY, Tensor? validX, Tensor? validY)
    {
        TrainX = trainX;
        TrainY = trainY;
        ValidX = validX;
        ValidY = validY;
    }

    public Tensor TrainX { get; }
    public Tensor TrainY { get; }
    public Tensor? ValidX { get; }
    public Tensor? ValidY { get; }
    public bool HasValidation => ValidX is not null;

    public static HoldOut Split(Tensor x, Tensor y, double fraction, bool batchNorm)
    {
        long rows = x.shape[0];
        long held = (long)Math.Floor(fraction * rows);
        if (held < 2 || rows - held < (batchNorm ? 2 : 1)) return new HoldOut(x.alias(), y.alias(), null, null);
        using var scope = torch.NewDisposeScope();
        var order = torch.randperm(rows, device: x.device);
        var valid = order.narrow(0, 0, held);
        var train = order.narrow(0, held, rows - held);
        return new HoldOut(
            x.index_select(0, train).MoveToOuterDisposeScope(), y.index_select(0, train).MoveToOuterDisposeScope(),
            x.index_select(0, valid).MoveToOuterDisposeScope(), y.index_select(0, valid).MoveToOuterDisposeScope());
    }

    /// <summary>Frees the validation tensors (the training tensors belong to the caller's <c>using</c>).</summary>
    public void Dispose()
    {
        ValidX?.Dispose();
        ValidY?.Dispose();
    }
}
