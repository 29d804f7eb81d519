using GradientHooks.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks;

/// <summary>
/// Resumable runs: one file holds the model's weights (as TorchSharp's <c>Module.save</c> writes them, so
/// <c>model.load(path)</c> reads them too), the inner optimizer's state (TorchSharp's <c>save_state_dict</c>), and
/// everything of GradientHooks' that learns from the run: every stateful clipping policy (the norm history of
/// <c>Clip.Adaptive</c>, the moving averages of <c>Clip.ZScore</c> and <c>Clip.AdaGC</c>, the window of
/// <c>Clip.SkipSpikes</c>), the guard (its counters, learning rates, rollbacks and rollback snapshot), the loss scaler,
/// the float32 master weights, the monitor (step counter, history, layer order, input scale, dead-unit streaks) and
/// libtorch's CPU random generator. A run resumed from it continues as the run it came from: on the CPU with one thread,
/// bit for bit.
/// <code>
/// Checkpoint.Save("runs/mlp.ckpt", model, optimizer);                          // after optimizer.step()
/// // a new process, the same model, optimizer, guard and monitor built as before:
/// if (File.Exists("runs/mlp.ckpt")) Checkpoint.Load("runs/mlp.ckpt", model, optimizer);
/// for (long step = monitor.StepCount + 1; step &lt;= steps; step++) { ... }
/// </code>
/// <para>Saving is atomic: the file is written beside the target, flushed to disk and moved over it, so a process killed
/// while saving leaves the previous checkpoint whole. Loading checks the file's SHA-256 and compares what it was saved
/// from (every parameter's name, shape and type, the optimizer, the clipping policy, rollback, loss scaling, master
/// weights, the monitor's options, the GradientHooks version) with what it is loaded into; any difference is refused
/// with every difference named, before anything changes. If applying it fails all the same, what was loaded is put back.</para>
/// </summary>
public static class Checkpoint
{
    private static readonly string[] Sections = { "optimizer", "guard", "policies", "monitor", "rng" };

    /// <summary>Tests only: runs between writing the temporary file and moving it over the checkpoint.</summary>
    internal static Action? BeforeReplace { get; set; }

    /// <summary>Saves the run to <paramref name="path"/> (its folder is created); returns the full path.</summary>
    /// <param name="path">The checkpoint file; replaced atomically when it exists.</param>
    /// <param name="model">The model the guard's monitor is attached to.</param>
    /// <param name="optimizer">The guard (<c>monitor.Guard(...)</c>); its monitor comes with it.</param>
    /// <exception cref="ArgumentException">The model is not the one the guard's monitor watches, or the path is a folder or cannot be written.</exception>
    /// <exception cref="InvalidOperationException">A capture is waiting for <c>optimizer.step()</c>.</exception>
    /// <exception cref="NotSupportedException">The inner optimizer keeps no managed state TorchSharp can save.</exception>
    public static string Save(string path, Module model, GuardedOptimizer optimizer)
    {
        var full = CheckArguments(path, model, optimizer, nameof(Save));
        if (Directory.Exists(full)) throw new ArgumentException($"Checkpoint.Save: '{full}' is a folder; give the checkpoint file to write, e.g. '{Path.Combine(full, "run.ckpt")}'.", nameof(path));
        var folder = Path.GetDirectoryName(full)!;
        try { Directory.CreateDirectory(folder); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"Checkpoint.Save: cannot create the folder '{folder}': {e.Message}", nameof(path), e);
        }
        var sections = WriteSections(model, optimizer);
        try
        {
            CheckpointFile.Write(full, w => model.save(w), sections, BeforeReplace);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ArgumentException($"Checkpoint.Save: cannot write '{full}': {e.Message}", nameof(path), e);
        }
        return full;
    }

    /// <summary>Loads the run saved at <paramref name="path"/> into <paramref name="model"/>, <paramref name="optimizer"/> and its monitor.</summary>
    /// <exception cref="FileNotFoundException">There is no file at the path.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is not a GradientHooks checkpoint, is damaged, or was saved from another model, optimizer, policy, guard
    /// setup, monitor options or GradientHooks version: the message names the file and every difference; nothing was changed.
    /// </exception>
    public static void Load(string path, Module model, GuardedOptimizer optimizer)
    {
        var full = CheckArguments(path, model, optimizer, nameof(Load));
        if (Directory.Exists(full)) throw new ArgumentException($"Checkpoint.Load: '{full}' is a folder; give the checkpoint file.", nameof(path));
        if (!File.Exists(full)) throw new FileNotFoundException($"Checkpoint.Load: there is no checkpoint at '{full}'.", full);
        var sections = CheckpointFile.Read(full);
        if (!sections.TryGetValue("manifest", out var manifestJson) || Sections.Any(s => !sections.ContainsKey(s)))
            throw new InvalidDataException($"'{full}' lacks the sections {string.Join(", ", Sections.Prepend("manifest").Where(s => !sections.ContainsKey(s)))}: written by another tool, or damaged.");
        var saved = CheckpointManifest.FromJson(manifestJson);
        var differences = saved.Differences(CheckpointManifest.Of(model, optimizer));
        if (differences.Count > 0)
            throw new InvalidDataException($"'{full}' (step {saved.Step}) does not fit this run, so nothing was loaded: {string.Join("; ", differences)}.");

        // Everything fits; apply it, keeping what is there now to put back if applying fails half-way.
        var backup = WriteSections(model, optimizer);
        using var backupModel = new MemoryStream();
        using (var w = new BinaryWriter(backupModel, System.Text.Encoding.UTF8, leaveOpen: true)) model.save(w);
        try
        {
            using (var file = File.OpenRead(full))
            using (var reader = new BinaryReader(file)) model.load(reader, strict: true);
            Apply(sections, optimizer);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            backupModel.Position = 0;
            using (var reader = new BinaryReader(backupModel)) model.load(reader, strict: true);
            Apply(backup.ToDictionary(s => s.Name, s => s.Data), optimizer);
            throw new InvalidDataException($"'{full}' could not be applied ({e.Message}); the model, optimizer, guard and monitor were put back as they were.", e);
        }
    }

    private static string CheckArguments(string path, Module model, GuardedOptimizer optimizer, string verb)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer.IsDisposed)
            throw new ObjectDisposedException(nameof(GuardedOptimizer), $"Checkpoint.{verb}: the GuardedOptimizer was disposed.");
        if (!ReferenceEquals(optimizer.Monitor.Model, model))
            throw new ArgumentException(
                $"Checkpoint.{verb}: the guard's monitor watches '{GradientMonitor.ModelName(optimizer.Monitor.Model)}', not this '{GradientMonitor.ModelName(model)}'; pass the model the monitor was attached to.", nameof(model));
        return Path.GetFullPath(path);
    }

    private static List<(string Name, byte[] Data)> WriteSections(Module model, GuardedOptimizer optimizer)
    {
        var helper = optimizer.Inner as OptimizerHelper ?? throw new NotSupportedException(
            $"Checkpoint: the inner optimizer {optimizer.Inner.GetType().Name} keeps no state TorchSharp can save (SGD, Adam, AdamW, RMSprop, ... do).");
        return new List<(string, byte[])>
        {
            ("manifest", CheckpointManifest.Of(model, optimizer).ToJson()),
            ("optimizer", Bytes(helper.save_state_dict)),
            ("guard", Bytes(optimizer.WriteState)),
            ("policies", Bytes(w => optimizer.Clipping?.WriteState(w))),
            ("monitor", Bytes(optimizer.Monitor.WriteState)),
            ("rng", Bytes(w => { using var state = torch.get_rng_state(); TensorIO.Write(w, state); })),
        };
    }

    private static void Apply(IReadOnlyDictionary<string, byte[]> sections, GuardedOptimizer optimizer)
    {
        var helper = (OptimizerHelper)optimizer.Inner;
        Read(sections["optimizer"], r => helper.load_state_dict(r));
        Read(sections["guard"], optimizer.ReadState);
        Read(sections["policies"], r => optimizer.Clipping?.ReadState(r));
        Read(sections["monitor"], optimizer.Monitor.ReadState);
        Read(sections["rng"], r => { using var state = TensorIO.Read(r, torch.CPU); if (state is not null) torch.set_rng_state(state); });
    }

    private static byte[] Bytes(Action<BinaryWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true)) write(w);
        return buffer.ToArray();
    }

    private static void Read(byte[] data, Action<BinaryReader> read)
    {
        using var reader = new BinaryReader(new MemoryStream(data, writable: false));
        read(reader);
        if (reader.BaseStream.Position != data.Length)
            throw new InvalidDataException($"a section was read to byte {reader.BaseStream.Position} of {data.Length}: it was written differently.");
    }
}
