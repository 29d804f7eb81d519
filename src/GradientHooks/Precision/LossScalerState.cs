namespace GradientHooks.Precision;

/// <summary>
/// What <see cref="LossScaler.StateDict"/> saves, field for field GradScaler's <c>state_dict()</c>: the scale, the
/// growth and back-off factors, the growth interval and the growth tracker (clean steps since the scale last changed).
/// </summary>
public sealed record LossScalerState(double Scale, double GrowthFactor, double BackoffFactor, int GrowthInterval, int GrowthTracker)
{
    /// <summary>Writes the state (five numbers) for a checkpoint.</summary>
    public void Write(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Scale);
        writer.Write(GrowthFactor);
        writer.Write(BackoffFactor);
        writer.Write(GrowthInterval);
        writer.Write(GrowthTracker);
    }

    /// <summary>Reads a state written by <see cref="Write"/>.</summary>
    public static LossScalerState Read(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return new LossScalerState(reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadInt32(), reader.ReadInt32());
    }
}
