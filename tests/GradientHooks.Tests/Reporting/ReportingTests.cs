using System.Globalization;
using System.Text.Json;
using GradientHooks.Clipping;
using GradientHooks.Reporting;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Reporting;

public sealed class ReportingTests : IDisposable
{
    private readonly TestOutputFolder _output = new("reporting-tests-");
    private string _dir => _output.Path;

    public void Dispose() => _output.Dispose();

    /// <summary>Trains the small MLP for <paramref name="steps"/> guarded steps with clipping; returns the history.</summary>
    private static List<StepRecord> Train(GradientMonitor monitor, torch.nn.Module<Tensor, Tensor> model, int steps, IClippingPolicy? clipping = null)
    {
        var (x, y) = TestModels.Batch();
        var optimizer = monitor.Guard(torch.optim.SGD(model.parameters(), 0.1), clipping ?? Clip.GlobalNorm(0.5));
        var seen = new List<StepRecord>();
        monitor.StepCaptured += seen.Add;
        for (int i = 0; i < steps; i++) TestModels.TrainStep(model, monitor, optimizer, x, y);
        monitor.StepCaptured -= seen.Add;
        return seen;
    }

    [Fact]
    public void TensorBoard_events_are_valid_TFRecords_holding_the_expected_tags_and_values()
    {
        var model = TestModels.Mlp();
        using var monitor = GradientMonitor.Attach(model);
        string file, scalarFile;
        List<StepRecord> steps;
        using (var sink = TensorBoardSink.Attach(monitor, _dir, new TensorBoardOptions { HistogramEvery = 5 }))
        {
            steps = Train(monitor, model, 12);
            sink.Flush();
            file = sink.EventFile!;
            scalarFile = sink.ScalarFile;
            Assert.True(sink.WallTimeRepaired);
            Assert.Empty(sink.Errors);
        }
        Assert.Equal(new[] { file, scalarFile }.OrderBy(f => f), Directory.GetFiles(_dir, "events.out.tfevents.*").OrderBy(f => f));
        var writerEvents = TfRecords.Read(file);   // throws on any bad length or CRC
        var scalarEvents = TfRecords.Read(scalarFile);
        double now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var first in new[] { writerEvents[0], scalarEvents[0] })
        {
            Assert.Equal("brain.Event:2", first.FileVersion);
            Assert.InRange(first.WallTime, now - 600, now + 60);         // Unix seconds, not .NET ticks
        }
        Assert.All(scalarEvents.Skip(1), e => Assert.InRange(e.WallTime, now - 600, now + 60));
        var events = writerEvents.Concat(scalarEvents).ToList();

        float Scalar(string tag, long step) => events.Single(e => e.Step == step && e.Values.Any(v => v.Tag == tag)).Values.Single(v => v.Tag == tag).Simple!.Value;
        foreach (var r in steps)
        {
            Assert.Equal((float)r.Loss!.Value, Scalar("loss", r.Step));
            Assert.Equal((float)r.TotalNorm, Scalar("grad_norm/total", r.Step));
            Assert.Equal((float)r.Layers[0].Gradient.Norm, Scalar("grad_norm/fc1", r.Step));
            Assert.Equal((float)r.Clipping!.NormBefore, Scalar("clip/norm_before", r.Step));
            Assert.Equal(r.Clipping.Clipped ? 1f : 0f, Scalar("clip/clipped", r.Step));
            Assert.Equal((float)r.Activations[0].DeadUnitFraction!.Value, Scalar("activations/act1/dead_units", r.Step));
        }
        Assert.Contains(events, e => e.Step == 3 && e.Values.Any(v => v.Tag == "update_ratio/fc2"));
        var histogramSteps = events.Where(e => e.Values.Any(v => v.Tag == "grad/fc1.weight" && v.HasHistogram)).Select(e => e.Step).ToList();
        Assert.Equal(new long[] { 5, 10 }, histogramSteps);
        var histogram = events.Single(e => e.Step == 5 && e.Values.Any(v => v.Tag == "grad/fc1.weight")).Values.Single(v => v.Tag == "grad/fc1.weight");
        long elements = monitor.Parameters[0].Count;
        Assert.Equal(elements, histogram.HistogramNum);
        Assert.Equal(30, histogram.Buckets!.Length);
        Assert.Equal(elements, histogram.Buckets.Sum());                  // every element lands in a bucket
        Assert.True(histogram.Buckets[0] > 0 || histogram.Buckets[^1] > 0, "the extreme value sits in an end bucket");
        var diagnosis = events.SelectMany(e => e.Values).Single(v => v.Tag == "diagnosis/text_summary" || v.Tag == "diagnosis");
        Assert.Contains("Gradient diagnosis", diagnosis.Text);
    }

    [Fact]
    public void TorchSharp_writes_ticks_as_the_first_wall_time_and_the_repair_makes_it_unix_seconds()
    {
        Directory.CreateDirectory(_dir);
        var writer = torch.utils.tensorboard.SummaryWriter(_dir);
        writer.add_scalar("x", 1f, 0);
        var file = Directory.GetFiles(_dir, "events.out.tfevents.*").Single();
        Assert.True(TfRecords.Read(file)[0].WallTime > 1e17, "TorchSharp 0.107 writes DateTime.Now.Ticks");
        Assert.True(EventFileWallTime.Repair(file));
        var events = TfRecords.Read(file);
        Assert.InRange(events[0].WallTime, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);
        Assert.Equal(1f, events[1].Values.Single().Simple);
        Assert.False(EventFileWallTime.Repair(file));                    // idempotent
    }

    [Fact]
    public void An_unwritable_log_folder_fails_at_attach_time_naming_the_folder()
    {
        Directory.CreateDirectory(_dir);
        var blocker = Path.Combine(_dir, "a-file");
        File.WriteAllText(blocker, "not a folder");
        var model = TestModels.Mlp();
        using var monitor = GradientMonitor.Attach(model);
        var bad = Path.Combine(blocker, "runs");
        var e = Assert.Throws<ArgumentException>(() => TensorBoardSink.Attach(monitor, bad));
        Assert.Contains(bad, e.Message);
        Assert.Equal("logDirectory", e.ParamName);
        Assert.Contains(Path.Combine(blocker, "x"), Assert.Throws<ArgumentException>(() => JsonLinesSink.Attach(monitor, Path.Combine(blocker, "x", "g.jsonl"))).Message);
        Assert.Throws<ArgumentException>(() => CsvSink.Attach(monitor, Path.Combine(blocker, "g.csv")));
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorBoardSink.Attach(monitor, _dir, new TensorBoardOptions { ScalarEvery = 0 }));
    }

    [Fact]
    public void The_run_log_has_a_header_a_line_per_step_with_the_statistics_bit_for_bit_and_the_profile()
    {
        var model = TestModels.Mlp();
        using var monitor = GradientMonitor.Attach(model);
        var path = Path.Combine(_dir, "g.jsonl");
        List<StepRecord> steps;
        using (JsonLinesSink.Attach(monitor, path)) steps = Train(monitor, model, 4);
        var lines = File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("run", lines[0].GetProperty("type").GetString());
        Assert.Equal(monitor.Parameters.Select(p => p.Name), lines[0].GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        var stepLines = lines.Where(l => l.GetProperty("type").GetString() == "step").ToList();
        Assert.Equal(4, stepLines.Count);
        Assert.Equal(2, lines.Count(l => l.GetProperty("type").GetString() == "profile"));   // after the first step, at dispose
        var second = stepLines[1];
        var expected = steps[1].Gradients[2];
        var g = second.GetProperty("g")[2];
        Assert.Equal(2, second.GetProperty("step").GetInt64());
        Assert.Equal(expected.Count, g[0].GetInt64());
        Assert.Equal(expected.Sum, g[1].GetDouble());
        Assert.Equal(expected.SumOfSquares, g[2].GetDouble());
        Assert.Equal(expected.MaxAbs, g[3].GetDouble());
        Assert.Equal(steps[1].Loss!.Value, second.GetProperty("loss").GetDouble());
        Assert.Equal(steps[1].Clipping!.Clipped, second.GetProperty("clipping").GetProperty("clipped").GetBoolean());
        Assert.True(second.TryGetProperty("update", out _));
        Assert.True(stepLines[0].TryGetProperty("layerOrder", out _));   // written once, when it is first known
        Assert.False(second.TryGetProperty("layerOrder", out _));
    }

    [Fact]
    public void A_run_log_read_back_gives_the_live_diagnosis_records_and_profile()
    {
        var model = TestModels.Mlp(activation: "sigmoid");
        var path = Path.Combine(_dir, "round.jsonl");
        string live;
        StepRecord last;
        using (var monitor = GradientMonitor.Attach(model))
        {
            using (JsonLinesSink.Attach(monitor, path)) Train(monitor, model, 12);
            live = monitor.Diagnose().ToJson();
            last = monitor.History[^1];
        }
        var log = RunLog.Load(path);
        Assert.Equal(live, log.Diagnose().ToJson());
        Assert.Equal(12, log.Steps);
        var read = log.History[^1];
        Assert.Equal(last.Gradients, read.Gradients);
        Assert.Equal(last.UpdateRatios, read.UpdateRatios);
        Assert.Equal(last.Layers.Select(l => (l.Layer, l.Depth, l.UpdateRatio)), read.Layers.Select(l => (l.Layer, l.Depth, l.UpdateRatio)));
        Assert.Equal(last.Activations, read.Activations);
        Assert.Equal(last.Units, read.Units);
        Assert.NotNull(log.Profile!.LayerOrder);
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("{\"type\":\"step\",\"step\":1}", "does not start with a GradientHooks run log header")]
    [InlineData("{\"type\":\"run\",\"format\":99,\"library\":\"9.9.9\"}", "is a run log of format 99 (GradientHooks 9.9.9)")]
    [InlineData("not json at all", "line 1 (the last), is cut off")]
    public void A_bad_run_log_is_refused_naming_the_file_and_what_is_wrong(string content, string expected)
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllText(path, content);
        var e = Assert.Throws<InvalidDataException>(() => RunLog.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_run_log_cut_off_in_its_last_line_is_named_as_such_and_a_missing_file_names_the_path()
    {
        var model = TestModels.Mlp();
        using var monitor = GradientMonitor.Attach(model);
        var path = Path.Combine(_dir, "cut.jsonl");
        using (JsonLinesSink.Attach(monitor, path)) Train(monitor, model, 3);
        var text = File.ReadAllText(path);
        File.WriteAllText(path, text[..(text.Length - 40)]);
        Assert.Contains("(the last), is cut off: the run stopped while writing it", Assert.Throws<InvalidDataException>(() => RunLog.Load(path)).Message);
        var missing = Path.Combine(_dir, "nope.jsonl");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => RunLog.Load(missing)).Message);
    }

    [Fact]
    public void Csv_has_a_header_and_rows_that_round_trip_the_numbers_and_NaN()
    {
        var model = TestModels.Mlp();
        using var monitor = GradientMonitor.Attach(model);
        var path = Path.Combine(_dir, "g.csv");
        var (x, y) = TestModels.Batch();
        using (CsvSink.Attach(monitor, path))
        {
            TestModels.Backward(model, x, y);
            using (torch.no_grad()) model.parameters().First().grad![0, 0] = float.NaN;
            monitor.Capture(1.5);
        }
        var lines = File.ReadAllLines(path);
        Assert.Equal(string.Join(",", "step,time,loss,parameter,layer,count,sum,sum_of_squares,norm,mean,rms,max_abs,non_finite,update_ratio,total_norm,clipped,skipped".Split(',')), lines[0]);
        var cells = lines[1].Split(',');
        Assert.Equal("fc1.weight", cells[3]);
        Assert.Equal("NaN", cells[8]);
        Assert.Equal("1", cells[12]);
        var second = lines[2].Split(',');
        Assert.Equal(monitor.History[0].Gradients[1].Norm, double.Parse(second[8], CultureInfo.InvariantCulture));
        Assert.Equal(1.5, double.Parse(second[2], CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Charts_are_valid_PNG_files_of_the_requested_size()
    {
        var model = TestModels.Mlp();
        using var monitor = GradientMonitor.Attach(model);
        var steps = Train(monitor, model, 15, Clip.GlobalNorm(0.3));
        var files = new[]
        {
            (GradientCharts.GradientFlow(monitor.History, Path.Combine(_dir, "flow.png"), lastSteps: 5, width: 640, height: 400), 640, 400),
            (GradientCharts.NormHeatmap(monitor.History, Path.Combine(_dir, "heatmap.png"), 800, 300), 800, 300),
            (GradientCharts.LossCurve(monitor.History, Path.Combine(_dir, "loss.png")), 900, 500),
            (GradientCharts.CompareRuns(new Dictionary<string, IReadOnlyList<StepRecord>> { ["a"] = steps, ["b"] = steps }, ChartMetric.GradientNorm, Path.Combine(_dir, "cmp.png")), 900, 500),
        };
        foreach (var (file, w, h) in files)
        {
            var bytes = File.ReadAllBytes(file);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
            Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
            Assert.Equal(w, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
            Assert.Equal(h, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
            Assert.True(bytes.Length > 5000, $"{file} is suspiciously small ({bytes.Length} bytes)");
        }
        Assert.Throws<ArgumentException>(() => GradientCharts.GradientFlow(Array.Empty<StepRecord>(), Path.Combine(_dir, "x.png")));
    }

    [Fact]
    public void Progress_degrades_to_plain_lines_with_the_numbers()
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        var optimizer = monitor.Guard(torch.optim.SGD(model.parameters(), 0.1), Clip.GlobalNorm(0.01));
        var output = new StringWriter();
        TrainingProgress.Run(monitor, 40, _ => TestModels.TrainStep(model, monitor, optimizer, x, y), "mlp", plainOutput: output);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20, lines.Length);
        Assert.StartsWith("mlp: step 40/40 loss ", lines[^1]);
        Assert.Contains("clipped 40 skipped 0", lines[^1]);
        Assert.Matches(@"\| (healthy|not enough data|[\w/ -]+ \((Warning|Critical)\))", lines[^1]);
    }
}
