using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.Checkpoints;

/// <summary>
/// A tensor in a checkpoint: its element type, shape and raw bytes (little-endian, as the CPU holds them), bit for bit.
/// Read back into a live tensor of the same type and shape (copied in place, on its device) or as a new tensor on a
/// given device.
/// </summary>
internal static class TensorIO
{
    public static void Write(BinaryWriter writer, Tensor? tensor)
    {
        writer.Write(tensor is not null);
        if (tensor is null) return;
        using var scope = torch.NewDisposeScope();
        var cpu = tensor.detach().cpu().contiguous();
        writer.Write((int)cpu.dtype);
        writer.Write(cpu.shape.Length);
        foreach (var d in cpu.shape) writer.Write(d);
        var bytes = cpu.bytes;
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    /// <summary>A new tensor on <paramref name="device"/> (null when none was written).</summary>
    public static Tensor? Read(BinaryReader reader, Device device)
    {
        if (!reader.ReadBoolean()) return null;
        var dtype = (ScalarType)reader.ReadInt32();
        var shape = new long[reader.ReadInt32()];
        for (int i = 0; i < shape.Length; i++) shape[i] = reader.ReadInt64();
        var bytes = reader.ReadBytes(reader.ReadInt32());
        var t = torch.empty(shape, dtype, torch.CPU);
        if (t.bytes.Length != bytes.Length)
            throw new InvalidDataException($"a saved {dtype} tensor of shape [{string.Join(", ", shape)}] holds {bytes.Length} bytes, not {t.bytes.Length}.");
        bytes.CopyTo(t.bytes);
        return device.type == DeviceType.CPU ? t : t.to(device);
    }

    /// <summary>Reads into <paramref name="target"/> in place; its type and shape must be the saved ones.</summary>
    public static void ReadInto(BinaryReader reader, Tensor target, string what)
    {
        using var scope = torch.NewDisposeScope();
        var saved = Read(reader, target.device) ?? throw new InvalidDataException($"{what}: nothing was saved.");
        if (saved.dtype != target.dtype || !saved.shape.SequenceEqual(target.shape))
            throw new InvalidDataException($"{what}: saved as {saved.dtype} [{string.Join(", ", saved.shape)}], here {target.dtype} [{string.Join(", ", target.shape)}].");
        using (torch.no_grad()) target.copy_(saved);
    }
}
