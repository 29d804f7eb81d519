// The checkpoint tests' child process: one training run, written as a user writes a resumable loop, in the mode the
// test asks for. CPU, one thread. Each step's batch comes from a generator seeded with the step number, so a resumed
// run sees the same batches as an uninterrupted one.
//   full <dir>            300 steps; writes <dir>/full.weights and <dir>/full.json (the diagnosis)
//   first <dir>           150 steps, Checkpoint.Save(<dir>/run.ckpt), prints "checkpoint saved", trains on until killed
//   resume <dir>          Checkpoint.Load(<dir>/run.ckpt), steps to 300; writes <dir>/resumed.weights and .json
//   hang-in-save <dir>    100 steps, save; 150 steps, save again but stop between writing and replacing (prints "replacing")
//   step-of <dir>         loads <dir>/run.ckpt and prints the step it holds
using GradientHooks;
using GradientHooks.Clipping;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

torch.set_num_threads(1);
string mode = args[0], dir = args[1];
var checkpoint = Path.Combine(dir, "run.ckpt");
torch.manual_seed(1);
var model = Sequential(("fc1", Linear(16, 32)), ("relu1", ReLU()), ("fc2", Linear(32, 32)), ("relu2", ReLU()), ("out", Linear(32, 4)));
using var monitor = GradientMonitor.Attach(model);
using var optimizer = monitor.Guard(optim.Adam(model.parameters(), 1e-2),
    Clip.Chain(Clip.SkipNonFinite(), Clip.SkipSpikes(), Clip.AdaGC()),
    new GuardOptions { Rollback = new RollbackOptions { SnapshotEvery = 100 } });

void Step(long step)
{
    using var scope = torch.NewDisposeScope();
    var generator = new torch.Generator((ulong)step);
    var x = torch.randn(new long[] { 64, 16 }, generator: generator);
    var y = torch.randint(0, 4, new long[] { 64 }, generator: generator);
    if (step % 70 == 0) x = x * 1000;                          // a batch whose gradient spikes: skipped
    optimizer.zero_grad();
    var loss = functional.cross_entropy(model.call(x), y);
    loss.backward();
    if (step is 120 or 210)                                     // a NaN gradient: zeroed and skipped
        using (torch.no_grad()) model.named_parameters().First(p => p.name == "fc2.weight").parameter.grad![0, 0] = float.NaN;
    monitor.Capture(loss);
    optimizer.step();
    if (step == 165)                                            // a weight turns NaN: the next step rolls back
        using (torch.no_grad()) model.named_parameters().First(p => p.name == "fc1.weight").parameter[0, 0] = float.NaN;
}

void Finish(string name)
{
    model.save(Path.Combine(dir, name + ".weights"));
    File.WriteAllText(Path.Combine(dir, name + ".json"), monitor.Diagnose().ToJson());
    Console.WriteLine($"{name}: {monitor.StepCount} steps, {optimizer.SkippedSteps} skipped, {optimizer.Rollbacks.Count} rollback(s)");
}

switch (mode)
{
    case "full":
        for (long s = 1; s <= 300; s++) Step(s);
        Finish("full");
        break;
    case "first":
        for (long s = 1; s <= 150; s++) Step(s);
        Checkpoint.Save(checkpoint, model, optimizer);
        Console.WriteLine("checkpoint saved");
        for (long s = 151; ; s++) Step(s);                      // until killed
    case "resume":
        Checkpoint.Load(checkpoint, model, optimizer);
        for (long s = monitor.StepCount + 1; s <= 300; s++) Step(s);
        Finish("resumed");
        break;
    case "hang-in-save":
        for (long s = 1; s <= 100; s++) Step(s);
        Checkpoint.Save(checkpoint, model, optimizer);
        for (long s = 101; s <= 150; s++) Step(s);
        Checkpoint.BeforeReplace = () => { Console.WriteLine("replacing"); Thread.Sleep(Timeout.Infinite); };
        Checkpoint.Save(checkpoint, model, optimizer);
        break;
    case "step-of":
        Checkpoint.Load(checkpoint, model, optimizer);
        Console.WriteLine($"step {monitor.StepCount}");
        break;
    default:
        Console.Error.WriteLine($"error: unknown mode '{mode}'");
        return 2;
}
return 0;
