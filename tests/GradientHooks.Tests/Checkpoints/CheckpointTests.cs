using GradientHooks.Checkpoints;
using GradientHooks.Clipping;
using GradientHooks.Precision;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Tests.Checkpoints;

/// <summary>Checkpoints in one process: interop with TorchSharp's own load, atomic replacement, every refusal with its message, mixed precision.</summary>
public sealed class CheckpointTests : IDisposable
{
    private readonly TestOutputFolder _output = new("checkpoint-");
    private string _dir => _output.Path;

    public void Dispose()
    {
        Checkpoint.BeforeReplace = null;
        CheckpointManifest.LibraryOverride = null;
        _output.Dispose();
    }

    private sealed class Run : IDisposable
    {
        public Run(int hidden = 16, IClippingPolicy? clipping = null, MonitorOptions? options = null, ScalarType dtype = ScalarType.Float32, bool scale = false)
        {
            torch.manual_seed(3);
            Model = Sequential(("fc1", Linear(8, hidden)), ("act1", ReLU()), ("fc2", Linear(hidden, 3)));
            Model.to(dtype);
            Monitor = GradientMonitor.Attach(Model, options);
            Master = dtype == ScalarType.Float32 ? null : new MasterWeights(Model);
            Scaler = scale ? new LossScaler(initScale: 1024, growthInterval: 3) : null;
            Optimizer = Monitor.Guard(optim.Adam(Master?.parameters() ?? Model.parameters(), 1e-2), clipping ?? Clip.Chain(Clip.SkipSpikes(), Clip.Adaptive()),
                new GuardOptions { LossScaler = Scaler, MasterWeights = Master });
            DType = dtype;
        }

        public Sequential Model { get; }
        public GradientMonitor Monitor { get; }
        public MasterWeights? Master { get; }
        public LossScaler? Scaler { get; }
        public GuardedOptimizer Optimizer { get; }
        public ScalarType DType { get; }

        public void Train(long from, long to)
        {
            for (long step = from; step <= to; step++)
            {
                using var scope = torch.NewDisposeScope();
                var generator = new torch.Generator((ulong)step);
                var x = torch.randn(new long[] { 32, 8 }, generator: generator).to_type(DType);
                var y = torch.randint(0, 3, new long[] { 32 }, generator: generator);
                Optimizer.zero_grad();
                var loss = functional.cross_entropy(Model.call(x).to_type(ScalarType.Float32), y);
                (Scaler?.Scale(loss) ?? loss).backward();
                Monitor.Capture(loss);
                Optimizer.step();
            }
        }

        public List<Tensor> Weights() => Model.parameters().Select(p => p.detach().clone()).ToList();

        public void Dispose()
        {
            Optimizer.Dispose();
            Master?.Dispose();
            Monitor.Dispose();
        }
    }

    private static void AssertSame(List<Tensor> a, List<Tensor> b)
    {
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++) Assert.True(a[i].eq(b[i]).all().item<bool>(), $"weight {i} differs");
    }

    [Fact]
    public void A_run_resumed_in_the_same_process_continues_as_the_original_and_TorchSharps_own_load_reads_the_weights()
    {
        var path = Path.Combine(_dir, "run.ckpt");
        using var original = new Run();
        original.Train(1, 40);
        Checkpoint.Save(path, original.Model, original.Optimizer);
        var atCheckpoint = original.Weights();
        original.Train(41, 80);

        using var resumed = new Run();
        Checkpoint.Load(path, resumed.Model, resumed.Optimizer);
        Assert.Equal(40, resumed.Monitor.StepCount);
        Assert.Equal(original.Monitor.History.Take(40).Select(r => r.TotalNorm), resumed.Monitor.History.Select(r => r.TotalNorm));
        resumed.Train(41, 80);
        AssertSame(original.Weights(), resumed.Weights());
        Assert.Equal(original.Monitor.Diagnose().ToJson(), resumed.Monitor.Diagnose().ToJson());

        // Interop: the file starts with TorchSharp's own state dictionary.
        torch.manual_seed(99);
        var plain = Sequential(("fc1", Linear(8, 16)), ("act1", ReLU()), ("fc2", Linear(16, 3)));
        plain.load(path);
        AssertSame(atCheckpoint, plain.parameters().Select(p => p.detach().clone()).ToList());
    }

    [Fact]
    public void Float16_with_a_loss_scaler_and_master_weights_resumes_exactly()
    {
        var path = Path.Combine(_dir, "fp16.ckpt");
        using var original = new Run(dtype: ScalarType.Float16, scale: true);
        original.Train(1, 25);
        Checkpoint.Save(path, original.Model, original.Optimizer);
        original.Train(26, 50);
        using var resumed = new Run(dtype: ScalarType.Float16, scale: true);
        Checkpoint.Load(path, resumed.Model, resumed.Optimizer);
        Assert.NotEqual(1024, resumed.Scaler!.CurrentScale);              // the scale had moved, and came back with the checkpoint
        resumed.Train(26, 50);
        AssertSame(original.Weights(), resumed.Weights());
        Assert.Equal(original.Scaler!.StateDict(), resumed.Scaler.StateDict());
        AssertSame(original.Master!.Parameters.Select(p => p.detach().clone()).ToList(), resumed.Master!.Parameters.Select(p => p.detach().clone()).ToList());
    }

    [Fact]
    public void A_fault_between_writing_and_replacing_leaves_the_previous_checkpoint_and_no_temporary_file()
    {
        var path = Path.Combine(_dir, "run.ckpt");
        using var run = new Run();
        run.Train(1, 10);
        Checkpoint.Save(path, run.Model, run.Optimizer);
        var before = File.ReadAllBytes(path);
        run.Train(11, 20);
        Checkpoint.BeforeReplace = () => throw new IOException("disk full (injected)");
        Assert.Throws<IOException>(() => Checkpoint.Save(path, run.Model, run.Optimizer));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", new EnumerationOptions { AttributesToSkip = 0 }));
        // A temporary file left by a killed save is cleared by the next save that succeeds.
        File.WriteAllText(Path.Combine(_dir, ".run.ckpt.0123.tmp"), "left by a killed process");
        Checkpoint.BeforeReplace = null;
        Checkpoint.Save(path, run.Model, run.Optimizer);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", new EnumerationOptions { AttributesToSkip = 0 }));
    }

    /// <summary>Loads <paramref name="path"/> into <paramref name="run"/> expecting a refusal that leaves it as it was; returns the message.</summary>
    private static string Refused(string path, Run run)
    {
        var weights = run.Weights();
        long step = run.Monitor.StepCount;
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, run.Model, run.Optimizer));
        AssertSame(weights, run.Weights());
        Assert.Equal(step, run.Monitor.StepCount);
        return e.Message;
    }

    [Fact]
    public void A_checkpoint_of_another_model_policy_monitor_or_version_is_refused_naming_what_differs_and_nothing_changes()
    {
        var path = Path.Combine(_dir, "run.ckpt");
        using (var saved = new Run()) { saved.Train(1, 5); Checkpoint.Save(path, saved.Model, saved.Optimizer); }

        using (var wider = new Run(hidden: 32)) { wider.Train(1, 2); Assert.Contains("parameter fc1.weight: shape [16, 8] in the checkpoint, [32, 8] in this model", Refused(path, wider)); }
        using (var other = new Run(clipping: Clip.GlobalNorm(1))) Assert.Contains("clipping policy: Clip.Chain(Clip.SkipSpikes(6, 128, signals: GradientNorm), Clip.Adaptive(10, 1000)) in the checkpoint, Clip.GlobalNorm(1, 2) here", Refused(path, other));
        using (var every = new Run(options: new MonitorOptions { Every = 10 })) Assert.Contains("monitor options", Refused(path, every));

        CheckpointManifest.LibraryOverride = "9.9.9";
        var future = Path.Combine(_dir, "future.ckpt");
        using (var saved = new Run()) Checkpoint.Save(future, saved.Model, saved.Optimizer);
        CheckpointManifest.LibraryOverride = null;
        using (var now = new Run()) Assert.Contains($"written by GradientHooks 9.9.9; this is GradientHooks {CheckpointManifest.LibraryVersion}", Refused(future, now));
    }

    [Fact]
    public void A_file_that_is_not_a_checkpoint_or_is_damaged_is_refused_naming_it()
    {
        var path = Path.Combine(_dir, "run.ckpt");
        using var run = new Run();
        run.Train(1, 5);
        Checkpoint.Save(path, run.Model, run.Optimizer);

        var plain = Path.Combine(_dir, "plain.bin");
        run.Model.save(plain);
        Assert.Contains("a plain TorchSharp save (load it with model.load)", Refused(plain, run));

        var damaged = Path.Combine(_dir, "damaged.ckpt");
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 3] ^= 0x40;
        File.WriteAllBytes(damaged, bytes);
        Assert.Contains("SHA-256 does not match", Refused(damaged, run));

        var cut = Path.Combine(_dir, "cut.ckpt");
        File.WriteAllBytes(cut, File.ReadAllBytes(path)[..(bytes.Length / 2)]);
        Assert.Contains("cut.ckpt", Refused(cut, run));

        Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(Path.Combine(_dir, "none.ckpt"), run.Model, run.Optimizer));
    }

    [Fact]
    public void Bad_arguments_are_refused_naming_them()
    {
        using var run = new Run();
        run.Train(1, 3);
        var other = Sequential(Linear(8, 3));
        var e = Assert.Throws<ArgumentException>(() => Checkpoint.Save(Path.Combine(_dir, "x.ckpt"), other, run.Optimizer));
        Assert.Equal("model", e.ParamName);
        Assert.Contains("Sequential", e.Message);
        Assert.Contains("is a folder", Assert.Throws<ArgumentException>(() => Checkpoint.Save(_dir, run.Model, run.Optimizer)).Message);

        // Between Capture and step() the state is half a step: refused.
        using (var scope = torch.NewDisposeScope())
        {
            run.Optimizer.zero_grad();
            functional.cross_entropy(run.Model.call(torch.randn(4, 8)), torch.tensor(new long[] { 0, 1, 2, 0 })).backward();
            run.Monitor.Capture();
        }
        Assert.Contains("after the step", Assert.Throws<InvalidOperationException>(() => Checkpoint.Save(Path.Combine(_dir, "x.ckpt"), run.Model, run.Optimizer)).Message);
    }
}
