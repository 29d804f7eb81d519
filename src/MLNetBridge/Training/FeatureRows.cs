using GradientHooks.MLNet.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.MLNet.Training;

/// <summary>
/// The training features as the loop sees them: <see cref="Gather"/> gives the dense [n, features] batch of the rows
/// an index names, on the training device. Dense data live on the device as one tensor; sparse data
/// (<see cref="SparseRows"/>) stay in managed memory and only the batch is made dense, so no more than one batch of
/// a wide FeaturizeText vector is ever dense.
/// </summary>
internal abstract class FeatureRows : IDisposable
{
    /// <summary>Rows held.</summary>
    public abstract long Count { get; }

    /// <summary>The rows named by <paramref name="index"/> (int64, on the training device), dense, in that order.</summary>
    public abstract Tensor Gather(Tensor index);

    /// <summary>A new set of the rows named by <paramref name="index"/>, in that order (for the hold-out).</summary>
    public abstract FeatureRows Select(Tensor index);

    /// <summary>The same rows under a second owner: disposing either leaves the other usable.</summary>
    public abstract FeatureRows Share();

    public abstract void Dispose();

    /// <summary>Dense data as one tensor on <paramref name="device"/>; sparse data as CSR, densified per batch.</summary>
    public static FeatureRows From(TrainingData data, Device device) => data.Sparse is SparseRows sparse
        ? new Sparse(sparse, device)
        : new Dense(torch.tensor(data.Features, new long[] { data.Rows, data.FeatureCount }, device: device));

    private sealed class Dense : FeatureRows
    {
        private readonly Tensor _x;
        public Dense(Tensor x) => _x = x;
        public override long Count => _x.shape[0];
        public override Tensor Gather(Tensor index) => _x.index_select(0, index);
        public override FeatureRows Select(Tensor index) => new Dense(_x.index_select(0, index).DetachFromDisposeScope());
        public override FeatureRows Share() => new Dense(_x.alias());
        public override void Dispose() => _x.Dispose();
    }

    /// <summary>
    /// CSR in managed memory. A batch: the index read on the CPU, the rows' flat positions and values (only the
    /// stored ones) made into two tensors, moved to the device, and scattered into zeros there.
    /// </summary>
    private sealed class Sparse : FeatureRows
    {
        private readonly SparseRows _rows;
        private readonly Device _device;
        public Sparse(SparseRows rows, Device device) { _rows = rows; _device = device; }
        public override long Count => _rows.Rows;

        public override Tensor Gather(Tensor index)
        {
            using var cpu = index.device_type == DeviceType.CPU ? index.alias() : index.cpu();
            var (positions, values) = _rows.Coordinates(cpu.data<long>().ToArray());
            var dense = torch.zeros(index.shape[0] * (long)_rows.Slots, device: _device);
            if (positions.Length > 0)
            {
                using var at = torch.tensor(positions, device: _device);
                using var v = torch.tensor(values, device: _device);
                dense.index_copy_(0, at, v);
            }
            return dense.view(index.shape[0], _rows.Slots);
        }

        public override FeatureRows Select(Tensor index)
        {
            using var cpu = index.device_type == DeviceType.CPU ? index.alias() : index.cpu();
            return new Sparse(_rows.Select(cpu.data<long>().ToArray()), _device);
        }

        public override FeatureRows Share() => this;   // nothing native to free
        public override void Dispose() { }
    }
}
