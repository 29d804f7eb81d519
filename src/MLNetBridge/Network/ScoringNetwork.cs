using System.Buffers;
using GradientHooks.Initialization;

namespace GradientHooks.MLNet.Network;

/// <summary>
/// The trained network in managed memory, for scoring without libtorch: a stack of <see cref="DenseLayer"/>s
/// (BatchNorm folded in) whose last layer gives the raw outputs, plus the regression label's standardisation
/// (prediction = raw · <see cref="LabelScale"/> + <see cref="LabelMean"/>). Immutable, so one instance serves
/// any number of concurrent cursors; each call works on stack or pooled scratch, never on shared state.
/// </summary>
internal sealed class ScoringNetwork
{
    private const int Magic = 0x4D4C5047; // "GPLM"
    private const int Version = 1;
    private const int StackLimit = 2048;

    public ScoringNetwork(IReadOnlyList<DenseLayer> layers, double labelMean = 0, double labelScale = 1)
    {
        if (layers.Count == 0) throw new ArgumentException("a network needs at least one layer", nameof(layers));
        for (var i = 1; i < layers.Count; i++)
            if (layers[i].Inputs != layers[i - 1].Outputs)
                throw new ArgumentException($"layer {i} takes {layers[i].Inputs} inputs but layer {i - 1} gives {layers[i - 1].Outputs}", nameof(layers));
        Layers = layers.ToArray();
        LabelMean = labelMean;
        LabelScale = labelScale;
        MaxWidth = Layers.Max(l => Math.Max(l.Inputs, l.Outputs));
    }

    public IReadOnlyList<DenseLayer> Layers { get; }
    public int FeatureCount => Layers[0].Inputs;
    public int OutputCount => Layers[^1].Outputs;
    public double LabelMean { get; }
    public double LabelScale { get; }
    private int MaxWidth { get; }

    /// <summary>Raw outputs (logits, or the standardised regression value) for one row of features.</summary>
    public void Forward(ReadOnlySpan<float> features, Span<float> outputs)
    {
        if (features.Length != FeatureCount) throw new ArgumentException($"expected {FeatureCount} features, got {features.Length}", nameof(features));
        float[]? rented = null;
        var scratch = 2 * MaxWidth <= StackLimit ? stackalloc float[2 * MaxWidth] : (rented = ArrayPool<float>.Shared.Rent(2 * MaxWidth));
        try
        {
            var a = scratch[..MaxWidth];
            var b = scratch.Slice(MaxWidth, MaxWidth);
            scoped ReadOnlySpan<float> input = features;
            for (var i = 0; i < Layers.Count - 1; i++)
            {
                var target = (i % 2 == 0 ? a : b)[..Layers[i].Outputs];
                Layers[i].Forward(input, target);
                input = target;
            }
            Layers[^1].Forward(input, outputs[..OutputCount]);
        }
        finally
        {
            if (rented != null) ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>Writes the layers and label scaling in a small versioned binary format (little-endian).</summary>
    public void Write(BinaryWriter writer)
    {
        writer.Write(Magic);
        writer.Write(Version);
        writer.Write(LabelMean);
        writer.Write(LabelScale);
        writer.Write(Layers.Count);
        foreach (var layer in Layers)
        {
            writer.Write(layer.Inputs);
            writer.Write(layer.Outputs);
            writer.Write((int)layer.Activation);
            foreach (var w in layer.Weight) writer.Write(w);
            foreach (var v in layer.Bias) writer.Write(v);
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a network of this format and version.</exception>
    public static ScoringNetwork Read(BinaryReader reader)
    {
        if (reader.ReadInt32() != Magic) throw new InvalidDataException("not a GradientHooks TorchMlp network (bad magic number)");
        var version = reader.ReadInt32();
        if (version != Version) throw new InvalidDataException($"TorchMlp network format version {version} is not supported (this build reads {Version})");
        var mean = reader.ReadDouble();
        var scale = reader.ReadDouble();
        var count = reader.ReadInt32();
        if (count is <= 0 or > 10_000) throw new InvalidDataException($"TorchMlp network has {count} layers");
        var layers = new DenseLayer[count];
        for (var i = 0; i < count; i++)
        {
            var inputs = reader.ReadInt32();
            var outputs = reader.ReadInt32();
            var activation = (Activation)reader.ReadInt32();
            if (inputs <= 0 || outputs <= 0 || !Enum.IsDefined(activation))
                throw new InvalidDataException($"TorchMlp layer {i} is malformed ({inputs}→{outputs}, activation {(int)activation})");
            var w = new float[inputs * outputs];
            for (var j = 0; j < w.Length; j++) w[j] = reader.ReadSingle();
            var b = new float[outputs];
            for (var j = 0; j < b.Length; j++) b[j] = reader.ReadSingle();
            layers[i] = new DenseLayer(inputs, outputs, w, b, activation);
        }
        return new ScoringNetwork(layers, mean, scale);
    }
}
