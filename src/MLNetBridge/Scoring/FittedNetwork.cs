using GradientHooks.MLNet.Network;

namespace GradientHooks.MLNet.Scoring;

/// <summary>
/// Everything needed to score and to save a fitted TorchMlp: the task, the feature column it reads, the managed
/// network, the class count and class names (multiclass). Serialised as one binary entry of the model file.
/// </summary>
internal sealed class FittedNetwork
{
    private const int Magic = 0x504D5447; // "GTMP"
    private const int Version = 1;

    public FittedNetwork(TorchMlpTask task, string featureColumnName, ScoringNetwork network, int classCount, LabelKeyValues? keyValues)
    {
        Task = task;
        FeatureColumnName = featureColumnName;
        Network = network;
        ClassCount = classCount;
        KeyValues = keyValues is { } k && k.Count == classCount ? k : null;
    }

    public TorchMlpTask Task { get; }
    public string FeatureColumnName { get; }
    public ScoringNetwork Network { get; }
    public int ClassCount { get; }
    public LabelKeyValues? KeyValues { get; }

    public void Write(BinaryWriter writer)
    {
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write((int)Task);
        writer.Write(FeatureColumnName);
        writer.Write(ClassCount);
        writer.Write(KeyValues != null);
        KeyValues?.Write(writer);
        Network.Write(writer);
    }

    /// <exception cref="InvalidDataException">The bytes are not a TorchMlp entry of this version.</exception>
    public static FittedNetwork Read(BinaryReader reader)
    {
        if (reader.ReadInt32() != Magic) throw new InvalidDataException("not a GradientHooks TorchMlp entry (bad magic number)");
        var version = reader.ReadInt32();
        if (version != Version) throw new InvalidDataException($"TorchMlp entry version {version} is not supported (this build reads {Version})");
        var task = (TorchMlpTask)reader.ReadInt32();
        if (!Enum.IsDefined(task)) throw new InvalidDataException($"TorchMlp entry has an unknown task {(int)task}");
        var feature = reader.ReadString();
        var classCount = reader.ReadInt32();
        var keyValues = reader.ReadBoolean() ? LabelKeyValues.Read(reader) : null;
        return new FittedNetwork(task, feature, ScoringNetwork.Read(reader), classCount, keyValues);
    }
}
