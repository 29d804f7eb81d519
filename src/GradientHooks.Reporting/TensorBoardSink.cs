using System.Collections.Concurrent;
using System.Globalization;
using GradientHooks.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using SummaryWriter = TorchSharp.Modules.SummaryWriter;

namespace GradientHooks.Reporting;

/// <summary>
/// Writes a monitor's steps to TensorBoard event files through TorchSharp's <c>SummaryWriter</c>: per-layer
/// gradient norms, max-abs and update ratios, total norm, loss, clip events and activation statistics as scalars;
/// gradient histograms every <see cref="TensorBoardOptions.HistogramEvery"/> steps; the diagnosis as text.
/// <para>
/// SummaryWriter opens, appends to and closes its file for every value (about 55 µs each here), so the per-step
/// scalars and histograms go to a second event file in the same folder that stays open and is written in batches
/// (every <see cref="TensorBoardOptions.FlushInterval"/>; TensorBoard reads every event file of a run folder), while
/// text goes through SummaryWriter on a background thread. Histograms are counted on the gradients' device with
/// <c>histc</c> (30 equal buckets over ±max|g|), never by copying the gradients. <see cref="Flush"/> writes everything
/// out. The first event's wall time, which TorchSharp writes in .NET ticks, is repaired to Unix seconds.
/// </para>
/// </summary>
/// <example><code>using var tensorboard = TensorBoardSink.Attach(monitor, "runs/mlp");</code></example>
public sealed class TensorBoardSink : IDisposable
{
    private readonly GradientMonitor _monitor;
    private readonly TensorBoardOptions _options;
    private readonly SummaryWriter _writer;
    private readonly EventFileWriter _scalars;
    private readonly BlockingCollection<Action<SummaryWriter>> _queue = new(boundedCapacity: 10_000);
    private readonly Thread _thread;
    private readonly List<string> _errors = new();
    private int _pending;
    private bool _disposed;

    private TensorBoardSink(GradientMonitor monitor, string directory, TensorBoardOptions options)
    {
        _monitor = monitor;
        _options = options;
        LogDirectory = directory;
        var before = new HashSet<string>(Directory.GetFiles(directory, "events.out.tfevents.*"));
        _writer = torch.utils.tensorboard.SummaryWriter(directory);
        _writer.add_text("gradienthooks/parameters",
            string.Join("  \n", monitor.Parameters.Select(p => $"{p.Name} {p.ShapeText}")), 0);
        EventFile = Directory.GetFiles(directory, "events.out.tfevents.*").FirstOrDefault(f => !before.Contains(f));
        if (EventFile != null) WallTimeRepaired = EventFileWallTime.Repair(EventFile);
        _scalars = new EventFileWriter(directory, options.FlushInterval);
        _thread = new Thread(Drain) { IsBackground = true, Name = "GradientHooks TensorBoard writer" };
        _thread.Start();
        monitor.StepCaptured += OnStep;
    }

    /// <summary>Attaches a sink to <paramref name="monitor"/> writing under <paramref name="logDirectory"/> (created if needed).</summary>
    /// <exception cref="ArgumentException">The folder cannot be created or written: the message names it.</exception>
    public static TensorBoardSink Attach(GradientMonitor monitor, string logDirectory, TensorBoardOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        options ??= new TensorBoardOptions();
        options.Validate();
        var directory = Reporting.LogDirectory.Prepare(logDirectory, nameof(logDirectory), nameof(TensorBoardSink));
        return new TensorBoardSink(monitor, directory, options);
    }

    /// <summary>The folder the event file is in.</summary>
    public string LogDirectory { get; }

    /// <summary>The event file TorchSharp's SummaryWriter writes (histograms, text), when it could be identified.</summary>
    public string? EventFile { get; }

    /// <summary>The event file of the per-step scalars.</summary>
    public string ScalarFile => _scalars.Path;

    /// <summary>True when TorchSharp's first event carried .NET ticks as wall time and was repaired.</summary>
    public bool WallTimeRepaired { get; }

    /// <summary>Errors raised while writing in the background (the sink keeps going).</summary>
    public IReadOnlyList<string> Errors { get { lock (_errors) return _errors.ToArray(); } }

    private void OnStep(StepRecord r)
    {
        int step = checked((int)r.Step);
        long wall = r.Time.ToUnixTimeSeconds();
        if (r.Step % _options.ScalarEvery == 0) WriteScalars(_scalars, r, r.Time.ToUnixTimeMilliseconds() / 1000.0);
        if (_options.HistogramEvery > 0 && r.IsFull && r.Step % _options.HistogramEvery == 0) WriteHistograms(r, r.Time.ToUnixTimeMilliseconds() / 1000.0);
        if (_options.DiagnoseEvery > 0 && r.Step % _options.DiagnoseEvery == 0)
        {
            var text = Markdown(_monitor.Diagnose());
            Enqueue(w => w.add_text("diagnosis", text, step, wall));
        }
    }

    private static void WriteScalars(EventFileWriter w, StepRecord r, double wall)
    {
        long step = r.Step;
        if (r.Loss is double loss) w.Scalar("loss", loss, step, wall);
        if (r.IsFull)
        {
            w.Scalar("grad_norm/total", r.TotalNorm, step, wall);
            foreach (var l in r.Layers)
            {
                w.Scalar($"grad_norm/{l.Layer}", l.Gradient.Norm, step, wall);
                w.Scalar($"grad_max_abs/{l.Layer}", l.Gradient.MaxAbs, step, wall);
                if (l.UpdateRatio is double u) w.Scalar($"update_ratio/{l.Layer}", u, step, wall);
            }
            foreach (var a in r.Activations)
            {
                if (a.DeadUnitFraction is double d) w.Scalar($"activations/{a.Module}/dead_units", d, step, wall);
                if (a.SaturatedFraction is double s) w.Scalar($"activations/{a.Module}/saturated", s, step, wall);
            }
        }
        if (r.HasNonFinite) w.Scalar("non_finite/parameters", r.NonFiniteParameters.Count, step, wall);
        if (r.Clipping is { } c)
        {
            w.Scalar("clip/norm_before", c.NormBefore, step, wall);
            w.Scalar("clip/norm_after", c.NormAfter, step, wall);
            w.Scalar("clip/clipped", c.Clipped ? 1 : 0, step, wall);
            w.Scalar("clip/skipped", c.SkipStep ? 1 : 0, step, wall);
        }
    }

    /// <summary>
    /// Gradient histograms computed on the gradients' device: each gradient scaled to [−B, B] with B = bins/2 (so
    /// that <c>histc</c>'s integer bounds give exact equal-width buckets over [−max|g|, max|g|]), counted with
    /// <c>histc</c>, all parameters' counts brought to .NET in one transfer. Count, sum and sum of squares come from
    /// the step's statistics. Only on every <see cref="TensorBoardOptions.HistogramEvery"/>-th full step.
    /// </summary>
    private void WriteHistograms(StepRecord r, double wall)
    {
        const int bins = 30, half = bins / 2;
        var names = new List<(string Name, GradientStats Stats)>();
        double[] counts;
        using (var scope = torch.NewDisposeScope())
        using (torch.no_grad())
        {
            var parts = new List<Tensor>();
            for (int i = 0; i < _monitor.Parameters.Count; i++)
            {
                var s = r.Gradients[i];
                var g = _monitor.TrainableParameters[i].grad;
                if (g is null || s.Count == 0 || !double.IsFinite(s.MaxAbs)) continue;
                double scale = s.MaxAbs > 0 ? half / s.MaxAbs : 1;
                parts.Add(torch.histc(g.reshape(-1) * scale, bins, -half, half).to_type(ScalarType.Float64));
                names.Add((_monitor.Parameters[i].Name, s));
            }
            if (parts.Count == 0) return;
            counts = torch.cat(parts).cpu().data<double>().ToArray();
        }
        for (int k = 0; k < names.Count; k++)
        {
            var (name, stats) = names[k];
            double m = stats.MaxAbs > 0 ? stats.MaxAbs : 1, width = 2 * m / bins;
            var limits = Enumerable.Range(1, bins).Select(j => -m + j * width).ToArray();
            _scalars.Histogram($"grad/{name}", stats, -stats.MaxAbs, stats.MaxAbs, limits, counts.AsSpan(k * bins, bins).ToArray(), r.Step, wall);
        }
    }

    private void Enqueue(Action<SummaryWriter> write)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Interlocked.Increment(ref _pending);
        _queue.Add(write);
    }

    private void Drain()
    {
        foreach (var write in _queue.GetConsumingEnumerable())
        {
            try
            {
                // SummaryWriter makes tensors of its own (text and histogram summaries): free them here, not at GC.
                using var scope = torch.NewDisposeScope();
                write(_writer);
            }
            catch (Exception e) { lock (_errors) if (_errors.Count < 100) _errors.Add(e.Message); }
            finally
            {
                if (Interlocked.Decrement(ref _pending) == 0) lock (_queue) Monitor.PulseAll(_queue);
            }
        }
    }

    /// <summary>Writes the buffered scalars and blocks until the queued histograms and text are written.</summary>
    public void Flush()
    {
        _scalars.Flush();
        lock (_queue)
            while (Volatile.Read(ref _pending) > 0) Monitor.Wait(_queue, 100);
    }

    /// <summary>Writes the final diagnosis as text, flushes, stops the writer thread and detaches from the monitor.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _monitor.StepCaptured -= OnStep;
        try
        {
            var diagnosis = Markdown(_monitor.Diagnose());
            int step = (int)Math.Min(int.MaxValue, _monitor.StepCount);
            Enqueue(w => w.add_text("diagnosis", diagnosis, step));
        }
        catch (ObjectDisposedException) { /* the monitor went first; nothing to diagnose */ }
        _disposed = true;
        _queue.CompleteAdding();
        _thread.Join();
        _queue.Dispose();
        _scalars.Dispose();
    }

    /// <summary>The diagnosis as TensorBoard markdown (its text plugin renders markdown; a code block keeps the table aligned).</summary>
    private static string Markdown(Diagnosis d) => "```\n" + d.ToString().Replace("```", "'''", StringComparison.Ordinal) + "\n```";
}
