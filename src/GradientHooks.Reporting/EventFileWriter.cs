using System.Diagnostics;
using Google.Protobuf;

namespace GradientHooks.Reporting;

/// <summary>
/// An append-only TensorBoard event file kept open: events are framed as TFRecords (little-endian u64 length,
/// masked CRC32C of the length, the serialized <c>tensorflow.Event</c>, masked CRC32C of the data) into a memory
/// buffer that goes to disk every <c>flushInterval</c>, when it passes 256 KiB, and on <see cref="Flush"/>.
/// TorchSharp's <c>SummaryWriter</c> opens, appends and closes its file for every value (measured here: about
/// 55 µs per <c>add_scalar</c>), which is too slow to log a dozen scalars on every training step.
/// </summary>
internal sealed class EventFileWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly MemoryStream _buffer = new();
    private readonly TimeSpan _flushInterval;
    private readonly Stopwatch _sinceFlush = Stopwatch.StartNew();

    public EventFileWriter(string directory, TimeSpan flushInterval)
    {
        _flushInterval = flushInterval;
        var now = DateTimeOffset.UtcNow;
        Path = System.IO.Path.Combine(directory, $"events.out.tfevents.{now.ToUnixTimeSeconds()}.{Environment.MachineName}.{Environment.ProcessId}.{Guid.NewGuid():N}.gradienthooks");
        _file = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Append(new Tensorboard.Event { WallTime = now.ToUnixTimeMilliseconds() / 1000.0, FileVersion = "brain.Event:2" });
        Flush();
    }

    public string Path { get; }

    /// <summary>Appends a scalar event (a <c>simple_value</c>).</summary>
    public void Scalar(string tag, double value, long step, double wallTime)
    {
        var e = new Tensorboard.Event { Step = step, WallTime = wallTime, Summary = new Tensorboard.Summary() };
        e.Summary.Value.Add(new Tensorboard.Summary.Types.Value { Tag = tag, SimpleValue = (float)value });
        Append(e);
    }

    /// <summary>Appends a histogram event: equal-width buckets whose right edges are <paramref name="limits"/>.</summary>
    public void Histogram(string tag, GradientStats stats, double min, double max, double[] limits, double[] counts, long step, double wallTime)
    {
        var h = new Tensorboard.HistogramProto { Min = min, Max = max, Num = stats.Count, Sum = stats.Sum, SumSquares = stats.SumOfSquares };
        h.BucketLimit.AddRange(limits);
        h.Bucket.AddRange(counts);
        var e = new Tensorboard.Event { Step = step, WallTime = wallTime, Summary = new Tensorboard.Summary() };
        e.Summary.Value.Add(new Tensorboard.Summary.Types.Value { Tag = tag, Histo = h });
        Append(e);
    }

    private void Append(Tensorboard.Event e)
    {
        var data = e.ToByteArray();
        var length = BitConverter.GetBytes((long)data.Length);
        _buffer.Write(length);
        _buffer.Write(BitConverter.GetBytes(EventFileWallTime.MaskedCrc(length)));
        _buffer.Write(data);
        _buffer.Write(BitConverter.GetBytes(EventFileWallTime.MaskedCrc(data)));
        if (_buffer.Length > 256 * 1024 || _sinceFlush.Elapsed >= _flushInterval) Flush();
    }

    public void Flush()
    {
        if (_buffer.Length > 0)
        {
            _file.Write(_buffer.GetBuffer(), 0, (int)_buffer.Length);
            _buffer.SetLength(0);
        }
        _file.Flush();
        _sinceFlush.Restart();
    }

    public void Dispose()
    {
        Flush();
        _file.Dispose();
    }
}
