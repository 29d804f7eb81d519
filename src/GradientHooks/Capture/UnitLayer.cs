using TorchSharp.Modules;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.Capture;

/// <summary>
/// A Linear or Conv1d/2d/3d layer whose weight is trainable: its output units, the indices of its weight and
/// bias among the monitored parameters, and the per-unit count of consecutive full captures on which the unit
/// passed no gradient. Transposed convolutions are left out (their weight is [in, out, ...]: rows are inputs).
/// </summary>
internal sealed class UnitLayer
{
    private readonly int[] _streak;

    private UnitLayer(string path, string module, int weight, int bias, int units, long rowLength)
    {
        Path = path;
        Module = module;
        Weight = weight;
        Bias = bias;
        Units = units;
        RowLength = rowLength;
        _streak = new int[units];
    }

    public string Path { get; }
    public string Module { get; }
    public int Weight { get; }
    public int Bias { get; }
    public int Units { get; }
    public long RowLength { get; }

    /// <summary>Full captures with finite gradients since attaching, capped at the dead-unit horizon.</summary>
    public int Observed { get; private set; }

    /// <summary>Writes the streaks (a checkpoint).</summary>
    public void Write(BinaryWriter writer)
    {
        writer.Write(Path);
        writer.Write(Observed);
        writer.Write(_streak.Length);
        foreach (var s in _streak) writer.Write(s);
    }

    /// <summary>Reads what <see cref="Write"/> wrote for this layer.</summary>
    public void Read(BinaryReader reader)
    {
        var path = reader.ReadString();
        if (path != Path) throw new InvalidDataException($"unit layer {path} in the checkpoint where {Path} was expected.");
        Observed = reader.ReadInt32();
        int n = reader.ReadInt32();
        if (n != _streak.Length) throw new InvalidDataException($"unit layer {Path}: {n} units in the checkpoint, {_streak.Length} here.");
        for (int i = 0; i < n; i++) _streak[i] = reader.ReadInt32();
    }

    /// <summary>Finds the unit layers of <paramref name="model"/> among <paramref name="names"/> (the monitored parameters' names).</summary>
    public static UnitLayer[] Find(Module model, IReadOnlyList<string> names, IReadOnlyList<long[]> shapes)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++) index[names[i]] = i;
        var layers = new List<UnitLayer>();
        foreach (var (path, module) in model.named_modules())
        {
            if (module is not (Linear or Conv1d or Conv2d or Conv3d)) continue;
            string prefix = path.Length == 0 ? "" : path + ".";
            if (!index.TryGetValue(prefix + "weight", out int w)) continue;
            var shape = shapes[w];
            if (shape.Length < 2 || shape[0] <= 0 || shape[0] > int.MaxValue) continue;
            long rowLength = 1;
            for (int d = 1; d < shape.Length; d++) rowLength *= shape[d];
            int b = index.TryGetValue(prefix + "bias", out int bi) && shapes[bi].Length == 1 && shapes[bi][0] == shape[0] ? bi : -1;
            layers.Add(new UnitLayer(path.Length == 0 ? ParameterInfo.RootLayer : path, module.GetType().Name, w, b, (int)shape[0], rowLength));
        }
        return layers.ToArray();
    }

    /// <summary>
    /// One full capture: unit i passed no gradient when weightRowZero[i] (and biasZero[i], when there is a bias).
    /// With <paramref name="finite"/> the streaks advance; a step with NaN/Inf leaves them as they were.
    /// </summary>
    public UnitStats Observe(ReadOnlySpan<byte> weightRowZero, ReadOnlySpan<byte> biasZero, bool finite, int horizon)
    {
        int zero = 0, dead = 0;
        if (finite && Observed < horizon) Observed++;
        for (int i = 0; i < Units; i++)
        {
            bool z = weightRowZero[i] != 0 && (biasZero.IsEmpty || biasZero[i] != 0);
            if (z) zero++;
            if (finite) _streak[i] = z ? Math.Min(_streak[i] + 1, horizon) : 0;
            if (Observed > 0 && _streak[i] >= Observed) dead++;
        }
        return new UnitStats(Path, Module, Units, zero, dead, Observed);
    }
}
