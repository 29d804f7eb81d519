using System.Security.Cryptography;
using System.Text;

namespace GradientHooks.Checkpoints;

/// <summary>
/// The checkpoint file: first the model's state exactly as TorchSharp's <c>Module.save</c> writes it (so
/// <c>model.load(path)</c>, and PyTorch tools that read TorchSharp's format, read the weights and stop there), then
/// GradientHooks' trailer: the magic <c>GHCKPT01</c>, named sections (the manifest as JSON, the optimizer's own state,
/// the guard, the policies, the monitor, the random generator), and a 48-byte footer: the trailer's offset, the SHA-256
/// of every byte before the footer, the magic <c>GHCKEND1</c>.
/// <para>Written atomically: into a temporary file beside the target, flushed to disk, then moved over it (a rename on
/// the same volume). A process killed at any point leaves either the previous file or the new one, never half of one;
/// a temporary file it leaves behind is never read.</para>
/// </summary>
internal static class CheckpointFile
{
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("GHCKPT01");
    private static readonly byte[] EndMagic = Encoding.ASCII.GetBytes("GHCKEND1");
    private const int FooterSize = 8 + 32 + 8;

    /// <summary>Writes the file atomically; <paramref name="beforeReplace"/> runs after the temporary file is complete and before it replaces <paramref name="path"/> (tests inject faults there).</summary>
    public static void Write(string path, Action<BinaryWriter> writeModel, IReadOnlyList<(string Name, byte[] Data)> sections, Action? beforeReplace)
    {
        var folder = Path.GetDirectoryName(path)!;
        var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                using (var hashing = new HashingStream(file))
                using (var writer = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
                {
                    writeModel(writer);
                    writer.Flush();
                    long trailer = file.Position;
                    writer.Write(Magic);
                    writer.Write(sections.Count);
                    foreach (var (name, data) in sections)
                    {
                        writer.Write(name);
                        writer.Write((long)data.Length);
                        writer.Write(data);
                    }
                    writer.Flush();
                    var hash = hashing.Hash();
                    using var footer = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true);
                    footer.Write(trailer);
                    footer.Write(hash);
                    footer.Write(EndMagic);
                }
                file.Flush(flushToDisk: true);
            }
            beforeReplace?.Invoke();
            File.Move(temporary, path, overwrite: true);
            // Temporary files of saves that were killed before their move are never read: clear them away.
            foreach (var stale in Directory.EnumerateFiles(folder, $".{Path.GetFileName(path)}.*.tmp"))
                try { File.Delete(stale); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>Reads and verifies the trailer of the checkpoint at <paramref name="path"/>: its sections by name.</summary>
    /// <exception cref="InvalidDataException">Not a GradientHooks checkpoint (a plain TorchSharp save, another file), cut short, or damaged; the message names the file.</exception>
    public static Dictionary<string, byte[]> Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (file.Length < FooterSize + Magic.Length)
            throw new InvalidDataException($"'{path}' is {file.Length} bytes: too short for a GradientHooks checkpoint (cut short, or not one).");
        using var reader = new BinaryReader(file, Encoding.UTF8, leaveOpen: true);
        file.Seek(-FooterSize, SeekOrigin.End);
        long trailer = reader.ReadInt64();
        var hash = reader.ReadBytes(32);
        var end = reader.ReadBytes(8);
        long footerStart = file.Length - FooterSize;
        if (!end.AsSpan().SequenceEqual(EndMagic))
            throw new InvalidDataException($"'{path}' has no GradientHooks checkpoint trailer: a plain TorchSharp save (load it with model.load), a file cut short while it was written elsewhere, or another file.");
        if (trailer < 0 || trailer > footerStart - Magic.Length)
            throw new InvalidDataException($"'{path}' is damaged: its trailer offset {trailer} lies outside the file.");
        file.Seek(0, SeekOrigin.Begin);
        using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var buffer = new byte[1 << 20];
            long left = footerStart;
            while (left > 0)
            {
                int n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n <= 0) throw new InvalidDataException($"'{path}' ended early while its checksum was read.");
                sha.AppendData(buffer, 0, n);
                left -= n;
            }
            if (!sha.GetHashAndReset().AsSpan().SequenceEqual(hash))
                throw new InvalidDataException($"'{path}' is damaged: its SHA-256 does not match the one written with it.");
        }
        file.Seek(trailer, SeekOrigin.Begin);
        if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is damaged: no trailer magic at offset {trailer}.");
        int count = reader.ReadInt32();
        var sections = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            long length = reader.ReadInt64();
            if (length < 0 || file.Position + length > footerStart)
                throw new InvalidDataException($"'{path}' is damaged: section '{name}' claims {length} bytes.");
            sections[name] = reader.ReadBytes((int)length);
        }
        return sections;
    }
}
