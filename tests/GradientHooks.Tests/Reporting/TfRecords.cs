using System.Text;

namespace GradientHooks.Tests.Reporting;

/// <summary>
/// An independent reader of TensorBoard event files for the tests: TFRecord framing (u64 length, masked CRC32C of
/// the length, data, masked CRC32C of the data) with a bitwise CRC32C (Castagnoli, reflected polynomial 0x82F63B78),
/// and just enough protobuf decoding for tensorflow.Event / Summary.Value.
/// </summary>
internal static class TfRecords
{
    public sealed record Value(string Tag, float? Simple, bool HasHistogram, string? Text, double HistogramNum = 0, double[]? Buckets = null);
    public sealed record Event(double WallTime, long Step, string? FileVersion, IReadOnlyList<Value> Values);

    public static List<Event> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        int at = 0;
        while (at < bytes.Length)
        {
            if (bytes.Length - at < 12) throw new InvalidDataException($"truncated record header at {at}");
            var lengthBytes = bytes.AsSpan(at, 8).ToArray();
            long length = BitConverter.ToInt64(lengthBytes);
            if (BitConverter.ToUInt32(bytes, at + 8) != Masked(lengthBytes)) throw new InvalidDataException($"bad length CRC at {at}");
            var data = bytes.AsSpan(at + 12, (int)length).ToArray();
            if (BitConverter.ToUInt32(bytes, at + 12 + (int)length) != Masked(data)) throw new InvalidDataException($"bad data CRC at {at}");
            events.Add(DecodeEvent(data));
            at += 12 + (int)length + 4;
        }
        return events;
    }

    public static uint Crc32C(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return ~crc;
    }

    public static uint Masked(byte[] data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8U;
    }

    private static Event DecodeEvent(byte[] data)
    {
        double wall = 0; long step = 0; string? version = null; var values = new List<Value>();
        foreach (var (field, wire, raw, number) in Fields(data))
        {
            if (field == 1 && wire == 1) wall = BitConverter.ToDouble(raw);
            else if (field == 2 && wire == 0) step = (long)number;
            else if (field == 3 && wire == 2) version = Encoding.UTF8.GetString(raw);
            else if (field == 5 && wire == 2)
                foreach (var (f, w, v, _) in Fields(raw)) if (f == 1 && w == 2) values.Add(DecodeValue(v));
        }
        return new Event(wall, step, version, values);
    }

    private static Value DecodeValue(byte[] data)
    {
        string tag = ""; float? simple = null; bool histo = false; string? text = null; double num = 0; double[]? buckets = null;
        foreach (var (field, wire, raw, _) in Fields(data))
        {
            if (field == 1 && wire == 2) tag = Encoding.UTF8.GetString(raw);
            else if (field == 2 && wire == 5) simple = BitConverter.ToSingle(raw);
            else if (field == 5 && wire == 2)
            {
                histo = true;   // HistogramProto: num = 3 (double), bucket = 7 (packed doubles)
                foreach (var (f, w, v, _) in Fields(raw))
                {
                    if (f == 3 && w == 1) num = BitConverter.ToDouble(v);
                    if (f == 7 && w == 2) buckets = Enumerable.Range(0, v.Length / 8).Select(i => BitConverter.ToDouble(v, 8 * i)).ToArray();
                }
            }
            else if (field == 8 && wire == 2)   // TensorProto: string_val = 8
                foreach (var (f, w, v, _) in Fields(raw)) if (f == 8 && w == 2) text = Encoding.UTF8.GetString(v);
        }
        return new Value(tag, simple, histo, text, num, buckets);
    }

    private static IEnumerable<(int Field, int Wire, byte[] Raw, ulong Number)> Fields(byte[] data)
    {
        int at = 0;
        while (at < data.Length)
        {
            ulong key = Varint(data, ref at);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: { ulong n = Varint(data, ref at); yield return (field, wire, Array.Empty<byte>(), n); break; }
                case 1: { var raw = data.AsSpan(at, 8).ToArray(); at += 8; yield return (field, wire, raw, 0); break; }
                case 2: { int len = (int)Varint(data, ref at); var raw = data.AsSpan(at, len).ToArray(); at += len; yield return (field, wire, raw, 0); break; }
                case 5: { var raw = data.AsSpan(at, 4).ToArray(); at += 4; yield return (field, wire, raw, 0); break; }
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
    }

    private static ulong Varint(byte[] data, ref int at)
    {
        ulong result = 0; int shift = 0;
        while (true)
        {
            byte b = data[at++];
            result |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return result;
            shift += 7;
        }
    }
}
