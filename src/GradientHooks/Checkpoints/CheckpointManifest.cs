using System.Text.Json;
using GradientHooks.Capture;
using Module = TorchSharp.torch.nn.Module;

namespace GradientHooks.Checkpoints;

/// <summary>One of the model's parameters as a checkpoint names it.</summary>
internal sealed record CheckpointParameter(string Name, long[] Shape, string DType, bool Trainable);

/// <summary>The loss scaler's settings (its state is a section of its own).</summary>
internal sealed record CheckpointScaler(double GrowthFactor, double BackoffFactor, int GrowthInterval);

/// <summary>
/// What a checkpoint was saved from, written as JSON in its first section and compared, field by field, with the model,
/// guard and monitor it is loaded into: the format and library version, the model's type and every parameter (name,
/// shape, element type, trainable), the inner optimizer's type and parameter groups, the clipping policy as written,
/// the rollback options, the loss scaler's settings, master weights, the monitor's options, the step. A checkpoint is
/// loaded only when nothing differs.
/// </summary>
internal sealed record CheckpointManifest
{
    /// <summary>The layout of the file's trailer and sections; another is refused.</summary>
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;
    public string Library { get; init; } = "";
    public string Model { get; init; } = "";
    public IReadOnlyList<CheckpointParameter> Parameters { get; init; } = Array.Empty<CheckpointParameter>();
    public string Optimizer { get; init; } = "";
    public IReadOnlyList<int> ParameterGroups { get; init; } = Array.Empty<int>();
    public string? Clipping { get; init; }
    public RollbackOptions? Rollback { get; init; }
    public CheckpointScaler? LossScaler { get; init; }
    public bool MasterWeights { get; init; }
    public MonitorOptions Monitor { get; init; } = new();
    public long Step { get; init; }
    public DateTimeOffset Saved { get; init; }

    /// <summary>The library's version, as its assembly says (three parts).</summary>
    public static string LibraryVersion => typeof(GradientMonitor).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    /// <summary>Tests only: the library version written into new checkpoints, to test the refusal of another version.</summary>
    internal static string? LibraryOverride { get; set; }

    public static CheckpointManifest Of(Module model, GuardedOptimizer optimizer) => new()
    {
        Library = LibraryOverride ?? LibraryVersion,
        Model = GradientMonitor.ModelName(model),
        Parameters = model.named_parameters().Select(p => new CheckpointParameter(p.name, p.parameter.shape, p.parameter.dtype.ToString(), p.parameter.requires_grad)).ToList(),
        Optimizer = optimizer.Inner.GetType().Name,
        ParameterGroups = optimizer.Inner.ParamGroups.Select(g => g is TorchSharp.Modules.ParamGroup pg ? pg.Parameters.Count() : -1).ToList(),
        Clipping = optimizer.Clipping?.ToString(),
        Rollback = optimizer.RollbackOptions,
        LossScaler = optimizer.LossScaler is { } s ? new CheckpointScaler(s.GrowthFactor, s.BackoffFactor, s.GrowthInterval) : null,
        MasterWeights = optimizer.MasterWeights is not null,
        Monitor = optimizer.Monitor.Options,
        Step = optimizer.Monitor.StepCount,
        Saved = DateTimeOffset.UtcNow,
    };

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, StepRecordJson.Json);

    public static CheckpointManifest FromJson(byte[] json) => JsonSerializer.Deserialize<CheckpointManifest>(json, StepRecordJson.Json)
        ?? throw new InvalidDataException("the manifest is empty.");

    /// <summary>Every way this (saved) manifest differs from <paramref name="live"/>, in words naming what and both values; empty when the checkpoint fits.</summary>
    public List<string> Differences(CheckpointManifest live)
    {
        var d = new List<string>();
        if (Format != live.Format) d.Add($"checkpoint format {Format}; this GradientHooks reads format {live.Format}");
        if (Library != live.Library) d.Add($"written by GradientHooks {Library}; this is GradientHooks {live.Library}");
        if (Model != live.Model) d.Add($"model: {Model} in the checkpoint, {live.Model} here");
        var saved = Parameters.ToDictionary(p => p.Name);
        var here = live.Parameters.ToDictionary(p => p.Name);
        foreach (var p in Parameters.Where(p => !here.ContainsKey(p.Name))) d.Add($"parameter {p.Name} [{string.Join(", ", p.Shape)}] is in the checkpoint, not in this model");
        foreach (var p in live.Parameters.Where(p => !saved.ContainsKey(p.Name))) d.Add($"parameter {p.Name} [{string.Join(", ", p.Shape)}] is in this model, not in the checkpoint");
        foreach (var p in live.Parameters.Where(p => saved.ContainsKey(p.Name)))
        {
            var s = saved[p.Name];
            if (!s.Shape.SequenceEqual(p.Shape)) d.Add($"parameter {p.Name}: shape [{string.Join(", ", s.Shape)}] in the checkpoint, [{string.Join(", ", p.Shape)}] in this model");
            if (s.DType != p.DType) d.Add($"parameter {p.Name}: {s.DType} in the checkpoint, {p.DType} in this model");
            if (s.Trainable != p.Trainable) d.Add($"parameter {p.Name}: {(s.Trainable ? "trainable" : "frozen")} in the checkpoint, {(p.Trainable ? "trainable" : "frozen")} here");
        }
        if (Optimizer != live.Optimizer) d.Add($"optimizer: {Optimizer} in the checkpoint, {live.Optimizer} here");
        else if (!ParameterGroups.SequenceEqual(live.ParameterGroups))
            d.Add($"optimizer parameter groups: [{string.Join(", ", ParameterGroups)}] parameters in the checkpoint, [{string.Join(", ", live.ParameterGroups)}] here");
        if (Clipping != live.Clipping) d.Add($"clipping policy: {Clipping ?? "none"} in the checkpoint, {live.Clipping ?? "none"} here");
        if (Rollback != live.Rollback) d.Add($"rollback: {Rollback?.ToString() ?? "none"} in the checkpoint, {live.Rollback?.ToString() ?? "none"} here");
        if (LossScaler != live.LossScaler) d.Add($"loss scaler: {LossScaler?.ToString() ?? "none"} in the checkpoint, {live.LossScaler?.ToString() ?? "none"} here");
        if (MasterWeights != live.MasterWeights) d.Add($"master weights: {(MasterWeights ? "yes" : "no")} in the checkpoint, {(live.MasterWeights ? "yes" : "no")} here");
        if (Monitor != live.Monitor) d.Add($"monitor options: {Monitor} in the checkpoint, {live.Monitor} here");
        return d;
    }
}
