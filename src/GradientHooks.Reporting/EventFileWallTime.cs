namespace GradientHooks.Reporting;

/// <summary>
/// Repairs the first event of a TorchSharp event file. TorchSharp 0.107's SummaryWriter writes its file-version event
/// with <c>wall_time = DateTime.Now.Ticks</c> (100 ns units since year 1, local time: about 6.4e17) where TensorBoard
/// expects Unix seconds (about 1.8e9) and every later event has Unix seconds. TensorBoard takes the first event's
/// wall time as the run's start, so "relative" time axes come out about 2,000 years negative. The fix rewrites that
/// double in place (field 1 of the Event message, fixed64) and the record's masked CRC32C of the data.
/// </summary>
internal static class EventFileWallTime
{
    private const double TicksThreshold = 1e13;   // no Unix time in seconds is this large before year 300,000

    /// <summary>Returns true when the first record of <paramref name="path"/> had .NET ticks and was repaired.</summary>
    public static bool Repair(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        var header = new byte[12];
        if (file.Read(header, 0, 12) != 12) return false;
        long length = BitConverter.ToInt64(header, 0);
        if (length < 9 || length > 1 << 20) return false;
        var data = new byte[length];
        if (file.Read(data, 0, data.Length) != data.Length) return false;
        if (data[0] != 0x09) return false;                          // field 1 (wall_time), wire type 1 (fixed64)
        double wallTime = BitConverter.ToDouble(data, 1);
        if (wallTime < TicksThreshold) return false;
        double unixSeconds = (new DateTime((long)wallTime, DateTimeKind.Local).ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
        BitConverter.GetBytes(unixSeconds).CopyTo(data, 1);
        file.Seek(12, SeekOrigin.Begin);
        file.Write(data, 0, data.Length);
        file.Write(BitConverter.GetBytes(MaskedCrc(data)), 0, 4);
        return true;
    }

    /// <summary>TFRecord's masked CRC32C: rotate right by 15 bits and add 0xa282ead8.</summary>
    public static uint MaskedCrc(byte[] data)
    {
        uint crc = TorchSharp.Utils.CRC32C.process(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8U;
    }
}
