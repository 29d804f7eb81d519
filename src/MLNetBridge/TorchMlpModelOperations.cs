using System.IO.Compression;
using GradientHooks.MLNet.Scoring;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace GradientHooks.MLNet;

/// <summary>
/// Saving and loading pipelines that contain a TorchMlp, as one ordinary ML.NET model file. ML.NET 5 keeps the
/// members a component needs to write its own state internal, so <c>mlContext.Model.Save</c> cannot store the
/// network. <see cref="SaveTorchMlp(ModelOperationsCatalog, ITransformer, DataViewSchema, string)"/> lets ML.NET save
/// the whole pipeline (each TorchMlp as a stateless custom-mapping step) and adds each network to the same .zip as
/// an entry <c>GradientHooks/TorchMlp/{i}.bin</c>; <see cref="LoadTorchMlp(ModelOperationsCatalog, string, out DataViewSchema)"/>
/// loads with ML.NET and puts the networks back. Predictions after loading are identical.
/// </summary>
public static class TorchMlpModelOperations
{
    private const string EntryPrefix = "GradientHooks/TorchMlp/";

    /// <summary>
    /// Saves <paramref name="model"/> (a pipeline or a single transformer) with its TorchMlp networks to
    /// <paramref name="filePath"/>, atomically: the model is serialised in memory, written to a temporary file beside
    /// the target and moved over it, so a failure at any point leaves no partial file and an existing file untouched.
    /// </summary>
    public static void SaveTorchMlp(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema? inputSchema, string filePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        var bytes = SaveToBytes(catalog, model, inputSchema);
        var target = Path.GetFullPath(filePath);
        var folder = Path.GetDirectoryName(target)!;
        if (Directory.Exists(target))
            throw new IOException($"Cannot save the model to '{target}': it is a folder; give a file path such as '{Path.Combine(target, "model.zip")}'.");
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Cannot save the model to '{target}': its folder '{folder}' does not exist.");
        var temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The temporary file is ours, not the user's: name the path they gave.
            throw new IOException($"Cannot save the model to '{target}': {e.Message.Replace(temporary, target)}", e);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>Saves <paramref name="model"/> with its TorchMlp networks to <paramref name="stream"/>.</summary>
    public static void SaveTorchMlp(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema? inputSchema, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Write(SaveToBytes(catalog, model, inputSchema));
    }

    /// <summary>Loads a model saved by <c>SaveTorchMlp</c> (or any ML.NET model); returns it with its input schema.</summary>
    /// <exception cref="InvalidDataException">The file's TorchMlp entries do not match its TorchMlp steps.</exception>
    public static ITransformer LoadTorchMlp(this ModelOperationsCatalog catalog, string filePath, out DataViewSchema inputSchema)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        if (!File.Exists(filePath)) throw new FileNotFoundException($"No model file at '{filePath}'.", filePath);
        using var stream = File.OpenRead(filePath);
        return LoadTorchMlp(catalog, stream, out inputSchema);
    }

    /// <summary>Loads a model saved by <c>SaveTorchMlp</c> from <paramref name="stream"/>.</summary>
    public static ITransformer LoadTorchMlp(this ModelOperationsCatalog catalog, Stream stream, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var networks = ReadNetworks(buffer);
        buffer.Position = 0;
        ITransformer loaded;
        using (Persistence.LoadGate.BeginLoad()) loaded = catalog.Load(buffer, out inputSchema);
        var queue = new Queue<FittedNetwork>(networks);
        var restored = Restore(loaded, queue);
        if (queue.Count > 0)
            throw new InvalidDataException($"The model file holds {networks.Count} TorchMlp network(s) but only {networks.Count - queue.Count} TorchMlp step(s).");
        return restored;
    }

    private static byte[] SaveToBytes(ModelOperationsCatalog catalog, ITransformer model, DataViewSchema? inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        var saved = new List<TorchMlpTransformer>();
        var buffer = new MemoryStream();
        using (Persistence.LoadGate.BeginSave(saved)) catalog.Save(model, inputSchema, buffer);
        var zipped = new MemoryStream();
        zipped.Write(buffer.ToArray());
        using (var zip = new ZipArchive(zipped, ZipArchiveMode.Update, leaveOpen: true))
        {
            for (var i = 0; i < saved.Count; i++)
            {
                using var entry = zip.CreateEntry($"{EntryPrefix}{i}.bin", CompressionLevel.Optimal).Open();
                using var writer = new BinaryWriter(entry);
                saved[i].Fitted.Write(writer);
            }
        }
        return zipped.ToArray();
    }

    private static List<FittedNetwork> ReadNetworks(MemoryStream buffer)
    {
        buffer.Position = 0;
        using var zip = new ZipArchive(buffer, ZipArchiveMode.Read, leaveOpen: true);
        var entries = zip.Entries.Where(e => e.FullName.StartsWith(EntryPrefix, StringComparison.Ordinal))
            .Select(e => (Index: int.TryParse(Path.GetFileNameWithoutExtension(e.Name), out var i) ? i : -1, Entry: e))
            .OrderBy(e => e.Index).ToList();
        var networks = new List<FittedNetwork>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Index != i) throw new InvalidDataException($"TorchMlp entry '{entries[i].Entry.FullName}' is out of sequence (expected {EntryPrefix}{i}.bin).");
            using var reader = new BinaryReader(entries[i].Entry.Open());
            networks.Add(FittedNetwork.Read(reader));
        }
        return networks;
    }

    /// <summary>Replaces each TorchMlp placeholder, in pipeline order (the order they were saved in), by its network.</summary>
    private static ITransformer Restore(ITransformer transformer, Queue<FittedNetwork> networks)
    {
        switch (transformer)
        {
            case CustomMappingTransformer<TorchMlpFeaturesRow, TorchMlpRegressionRow>:
            case CustomMappingTransformer<TorchMlpFeaturesRow, TorchMlpBinaryRow>:
            case CustomMappingTransformer<TorchMlpFeaturesRow, TorchMlpMulticlassRow>:
                if (!networks.TryDequeue(out var fitted))
                    throw new InvalidDataException("The model file has a TorchMlp step without its network entry: was it saved with mlContext.Model.SaveTorchMlp?");
                return new TorchMlpTransformer(fitted, Array.Empty<TorchMlpEpoch>(), null, Array.Empty<StepRecord>());
            case IEnumerable<ITransformer> chain when IsChain(transformer):
                return new TransformerChain<ITransformer>(chain.Select(t => Restore(t, networks)).ToArray());
            default:
                return transformer;
        }
    }

    private static bool IsChain(ITransformer transformer) =>
        transformer.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(TransformerChain<>);
}
