using GradientHooks.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace GradientHooks.MLNet.Training;

/// <summary>
/// TorchMlp's messages on ML.NET's log: a channel "Training" of a host "TorchMlp" registered on the user's
/// <see cref="MLContext"/> (public <see cref="IHostEnvironment"/>), so <see cref="MLContext.Log"/> subscribers see them
/// as they see ML.NET's own trainers'.
/// </summary>
internal sealed class TrainingLog : IDisposable
{
    private readonly IChannel _channel;

    private TrainingLog(IChannel channel) => _channel = channel;

    /// <summary>A log on <paramref name="context"/>, or null when there is none.</summary>
    public static TrainingLog? Open(MLContext? context) =>
        context is null ? null : new TrainingLog(((IHostEnvironment)context).Register("TorchMlp").Start("Training"));

    /// <summary>One Info line per epoch.</summary>
    public void Epoch(TorchMlpEpoch epoch) => _channel.Info(MessageSensitivity.None, epoch.ToString());

    /// <summary>The end of training: an Info summary and a Warning per Warning or Critical finding.</summary>
    public void Final(Diagnosis diagnosis, int epochs, int planned)
    {
        _channel.Info(MessageSensitivity.None, $"trained {epochs} of {planned} epochs; gradient diagnosis: {(diagnosis.IsHealthy ? "healthy" : $"{diagnosis.Findings.Count(f => f.Severity != Severity.Info)} problem(s)")}");
        foreach (var f in diagnosis.Findings.Where(f => f.Severity != Severity.Info))
            _channel.Warning(MessageSensitivity.None, $"[{f.Severity}] {f.Title}: {f.Summary}" + (f.Remedies.Count > 0 ? $" Remedy: {f.Remedies[0].Detail}" : ""));
    }

    public void Dispose() => _channel.Dispose();
}
