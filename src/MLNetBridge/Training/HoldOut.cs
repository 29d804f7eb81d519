using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.MLNet.Training;

/// <summary>
/// The training rows split into the rows trained on and a held-out sample for the validation loss: a random
/// permutation from libtorch's global generator (seeded by <c>TorchMlpOptions.Seed</c>), the first ⌊fraction · n⌋ rows
/// held out. With fraction 0 (or fewer than two rows to hold out, or too few left to train), nothing is held out and
/// the training rows are the inputs themselves, under a second owner. A validation set passed to <c>Fit</c> takes the
/// hold-out's place (<see cref="WithValidation"/>). Dispose frees everything the split holds.
/// </summary>
internal sealed class HoldOut : IDisposable
{
    private HoldOut(FeatureRows trainX, Tensor trainY, FeatureRows? validX, Tensor? validY)
    {
        TrainX = trainX;
        TrainY = trainY;
        ValidX = validX;
        ValidY = validY;
    }

    public FeatureRows TrainX { get; }
    public Tensor TrainY { get; }
    public FeatureRows? ValidX { get; }
    public Tensor? ValidY { get; }
    public bool HasValidation => ValidX is not null;

    public static HoldOut Split(FeatureRows x, Tensor y, double fraction, bool batchNorm)
    {
        long rows = x.Count;
        long held = (long)Math.Floor(fraction * rows);
        if (held < 2 || rows - held < (batchNorm ? 2 : 1)) return new HoldOut(x.Share(), y.alias(), null, null);
        using var scope = torch.NewDisposeScope();
        var order = torch.randperm(rows, device: y.device);
        var valid = order.narrow(0, 0, held);
        var train = order.narrow(0, held, rows - held);
        return new HoldOut(
            x.Select(train), y.index_select(0, train).MoveToOuterDisposeScope(),
            x.Select(valid), y.index_select(0, valid).MoveToOuterDisposeScope());
    }

    /// <summary>A validation set of its own (<c>Fit(trainData, validationData)</c>): every training row trains; this object owns all four.</summary>
    public static HoldOut WithValidation(FeatureRows x, Tensor y, FeatureRows validX, Tensor validY) => new(x, y, validX, validY);

    public void Dispose()
    {
        TrainX.Dispose();
        TrainY.Dispose();
        ValidX?.Dispose();
        ValidY?.Dispose();
    }
}
