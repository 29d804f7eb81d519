using GradientHooks.Clipping;
using GradientHooks.Corpus.Data;
using GradientHooks.Corpus.Models;
using GradientHooks.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace GradientHooks.Corpus.Runs;

/// <summary>Character language models on Tiny Shakespeare, trained by truncated backpropagation through time.</summary>
public static class TextRuns
{
    private static readonly string[] Files = { "tinyshakespeare_input.txt" };

    /// <summary>LSTM(128), Adam 2e-3, the total norm clipped to 1: healthy.</summary>
    public static CorpusRun ClippedLstm() => new("shakespeare-lstm-clipped", "Tiny Shakespeare", "Embedding → LSTM(128) → Linear, custom Module", "Adam lr 2e-3, Clip.GlobalNorm(1)",
        null, Array.Empty<string>(), Array.Empty<FindingKind>(), Files,
        () => Train(lstm: true, optimizer: p => optim.Adam(p, 2e-3), HealthyGuard.With(Clip.GlobalNorm(1.0)), steps: 300));

    /// <summary>A vanilla tanh RNN(128), SGD lr 4, no clipping: the gradient norm explodes and the loss never recovers.</summary>
    public static CorpusRun UnclippedRnn() => new("shakespeare-rnn-unclipped", "Tiny Shakespeare", "Embedding → RNN(128, tanh) → Linear, custom Module", "SGD lr 4, no clipping",
        FindingKind.ExplodingGradients, Array.Empty<string>(), new[] { FindingKind.LossOscillation, FindingKind.NonFiniteGradients, FindingKind.SaturatedActivations }, Files,
        () => Train(lstm: false, optimizer: p => optim.SGD(p, 4.0), clipping: null, steps: 300));

    /// <summary>TorchSharp's TransformerEncoder (2 layers, width 64, 4 heads) as a character model, head declared first, Adam 1e-3: healthy.</summary>
    public static CorpusRun Transformer() => new("shakespeare-transformer", "Tiny Shakespeare", "head, TransformerEncoder (native), Embedding + learned positions, custom Module", "Adam lr 1e-3, causal mask",
        null, Array.Empty<string>(), Array.Empty<FindingKind>(), Files,
        () => TrainModel(text => new TransformerLm(text.Vocabulary.Length, 64, 4, 2, 64), p => optim.Adam(p, 1e-3), HealthyGuard.With(null), steps: 150, batch: 16));

    /// <summary>A GRU(128) character model, decoder declared before the GRU, Adam 2e-3 without clipping: healthy.</summary>
    public static CorpusRun Gru() => new("shakespeare-gru", "Tiny Shakespeare", "Embedding → GRU(128) → Linear, decoder declared first", "Adam lr 2e-3, no clipping",
        null, Array.Empty<string>(), Array.Empty<FindingKind>(), Files,
        () => TrainModel(text => new GruLm(text.Vocabulary.Length, 128), p => optim.Adam(p, 2e-3), HealthyGuard.With(null), steps: 200, batch: 32));

    /// <summary>A model mapping tokens [batch, 64] to logits, trained on consecutive chunks with the drop-in lines.</summary>
    private static RunOutcome TrainModel(Func<TinyShakespeare, Module<Tensor, Tensor>> build, Func<IEnumerable<TorchSharp.Modules.Parameter>, optim.Optimizer> optimizer,
        IClippingPolicy? clipping, int steps, int batch)
    {
        var text = new TinyShakespeare();
        torch.manual_seed(1);
        var model = build(text);
        using var monitor = GradientMonitor.Attach(model);
        using var log = RunLogs.Attach(monitor, $"{model.GetType().Name}-{Guid.NewGuid():N}");
        using var guarded = monitor.Guard(optimizer(model.parameters()), clipping);
        model.train();
        double last = double.NaN;
        for (int step = 0; step < steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var (x, y) = text.Chunk(batch, length: 64, k: step);
            guarded.zero_grad();
            var logits = model.call(x);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, text.Vocabulary.Length), y.reshape(-1));
            loss.backward();
            last = monitor.Capture(loss).Loss ?? double.NaN;
            guarded.step();
        }
        return new RunOutcome(monitor.Diagnose(), FormattableString.Invariant($"last training loss {last:0.000} nats/char"), steps) { History = monitor.History.ToArray(), SkippedSteps = guarded.SkippedSteps, Model = model, Profile = monitor.Profile, LogPath = log?.Path };
    }

    private static RunOutcome Train(bool lstm, Func<IEnumerable<TorchSharp.Modules.Parameter>, optim.Optimizer> optimizer, IClippingPolicy? clipping, int steps)
    {
        var text = new TinyShakespeare();
        torch.manual_seed(1);
        var model = new CharModel(text.Vocabulary.Length, 128, lstm);
        using var monitor = GradientMonitor.Attach(model);
        using var log = RunLogs.Attach(monitor, $"{model.GetType().Name}-{Guid.NewGuid():N}");
        using var guarded = monitor.Guard(optimizer(model.parameters()), clipping);
        Tensor[]? state = null;
        double last = double.NaN;
        for (int step = 0; step < steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var (x, y) = text.Chunk(batch: 32, length: 64, k: step);
            guarded.zero_grad();
            var logits = model.Forward(x, ref state);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, text.Vocabulary.Length), y.reshape(-1));
            loss.backward();
            last = monitor.Capture(loss).Loss ?? double.NaN;
            guarded.step();
        }
        if (state != null) foreach (var t in state) t.Dispose();
        return new RunOutcome(monitor.Diagnose(), FormattableString.Invariant($"last training loss {last:0.000} nats/char"), steps) { History = monitor.History.ToArray(), SkippedSteps = guarded.SkippedSteps, Model = model, Profile = monitor.Profile, LogPath = log?.Path };
    }
}
