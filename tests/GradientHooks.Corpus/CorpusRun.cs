using GradientHooks.Diagnostics;

namespace GradientHooks.Corpus;

/// <summary>
/// One real training run of the corpus and the verdict it must get. A healthy run (<see cref="Expected"/> null)
/// must carry no Warning or Critical finding. A broken run must tell one story: its first problem is the root cause of
/// kind <see cref="Expected"/> (no <see cref="Finding.Cause"/>), every other problem follows from something
/// (<see cref="Finding.Cause"/> set) and is of a kind in <see cref="Also"/> (which must all be there) or
/// <see cref="Tolerated"/> (a dead network's loss is also flat), and the findings of the expected kinds name every
/// layer in <see cref="ExpectedLayers"/>.
/// </summary>
/// <param name="Name">Short unique name, e.g. <c>optdigits-cnn</c>.</param>
/// <param name="Data">The data set(s), as in ../shared/data.</param>
/// <param name="Model">The model and how it is written (custom Module, Sequential, ML.NET pipeline).</param>
/// <param name="Setup">What makes it healthy or broken (optimizer, learning rate, fault).</param>
/// <param name="Expected">The root cause a broken run must get; null for a healthy run.</param>
/// <param name="ExpectedLayers">Layers (or parameters) the expected finding must name.</param>
/// <param name="Tolerated">Other problem kinds allowed to accompany the expected one.</param>
/// <param name="Files">Files of ../shared/data the run reads.</param>
/// <param name="Train">Trains the run and returns what it produced.</param>
public sealed record CorpusRun(
    string Name,
    string Data,
    string Model,
    string Setup,
    FindingKind? Expected,
    IReadOnlyList<string> ExpectedLayers,
    IReadOnlyList<FindingKind> Tolerated,
    IReadOnlyList<string> Files,
    Func<RunOutcome> Train)
{
    /// <summary>Consequences the diagnosis must find, following from the root cause (e.g. dead units after too high a learning rate).</summary>
    public IReadOnlyList<FindingKind> Also { get; init; } = Array.Empty<FindingKind>();

    /// <summary>True for a run that must be diagnosed healthy.</summary>
    public bool Healthy => Expected is null;

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>What a corpus run produced.</summary>
/// <param name="Diagnosis">The monitor's final diagnosis.</param>
/// <param name="Metric">The model's quality in the data set's own terms (accuracy, R², loss), so a "healthy" verdict can be checked against learning.</param>
/// <param name="Steps">Optimisation steps taken.</param>
/// <remarks>
/// Healthy runs train with <see cref="HealthyGuard"/> in front of their own policy: spike skipping (OLMo's 6 σ over
/// 128 steps) must never fire on them. A spike rule that never skips leaves the run exactly as it was without it.
/// </remarks>
public sealed record RunOutcome(Diagnosis Diagnosis, string Metric, long Steps)
{
    /// <summary>The monitor's history, when the run had the monitor in hand (hand-written loops); empty for ML.NET runs.</summary>
    public IReadOnlyList<StepRecord> History { get; init; } = Array.Empty<StepRecord>();

    /// <summary>Updates the guard skipped (NaN/Inf or, on healthy runs, <c>Clip.SkipSpikes()</c>); a loss scaler's overflow steps, its normal search for its level, are not counted.</summary>
    public long SkippedSteps { get; init; }

    /// <summary>The trained model, when the run had it in hand (hand-written loops); null for ML.NET runs, whose remedies are options.</summary>
    public TorchSharp.torch.nn.Module? Model { get; init; }

    /// <summary>The monitor's profile of the model at the end of the run, when the run had the monitor in hand.</summary>
    public ModelProfile? Profile { get; init; }

    /// <summary>The run log the monitor's <c>JsonLinesSink</c> wrote, when <see cref="RunLogs.Folder"/> was set (hand-written loops).</summary>
    public string? LogPath { get; init; }

    /// <summary>Wall time of the run (set by the runner).</summary>
    public TimeSpan Elapsed { get; init; }
}

/// <summary>Where the hand-written loops of the corpus write their run logs (JsonLinesSink); null: none.</summary>
public static class RunLogs
{
    /// <summary>The folder, or null to write no log.</summary>
    public static string? Folder { get; set; }

    /// <summary>A sink on <paramref name="monitor"/> writing <c>{Folder}/{name}.jsonl</c>, or null when no folder is set.</summary>
    public static GradientHooks.Reporting.JsonLinesSink? Attach(GradientMonitor monitor, string name) =>
        Folder is null ? null : GradientHooks.Reporting.JsonLinesSink.Attach(monitor, Path.Combine(Folder, name + ".jsonl"));
}

/// <summary>The guard policy of the healthy runs.</summary>
public static class HealthyGuard
{
    /// <summary><c>Clip.SkipSpikes()</c> before <paramref name="policy"/> (on the unclipped norm), or alone.</summary>
    public static GradientHooks.Clipping.IClippingPolicy With(GradientHooks.Clipping.IClippingPolicy? policy) =>
        policy is null ? GradientHooks.Clipping.Clip.SkipSpikes() : GradientHooks.Clipping.Clip.Chain(GradientHooks.Clipping.Clip.SkipSpikes(), policy);
}
