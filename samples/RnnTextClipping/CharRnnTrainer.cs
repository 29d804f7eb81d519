using GradientHooks.Samples;
using GradientHooks;
using GradientHooks.Clipping;
using GradientHooks.Reporting;
using TorchSharp;
using static TorchSharp.torch;

namespace RnnTextClipping;

/// <summary>
/// The sample's training core: truncated backpropagation through time on a character corpus, with the two
/// GradientHooks lines a user adds to their own loop (attach a monitor, guard the optimizer).
/// </summary>
public static class CharRnnTrainer
{
    /// <summary>
    /// Trains a fresh model (seeded, so every run starts from the same weights) with plain SGD and the given
    /// clipping policy behind <see cref="Clip.SkipNonFinite"/>; calls <paramref name="afterStep"/> after each step
    /// (the gradients are then still those the optimizer used) and lets <paramref name="runSteps"/> drive the loop
    /// (monitor, number of steps, step body), e.g. through <c>TrainingProgress.Run</c>. With <paramref name="runLogPath"/>
    /// the run is logged for <c>gradienthooks diagnose</c>; with <paramref name="reportPath"/> its HTML report is written at the end.
    /// </summary>
    public static RunResult Train(CharCorpus corpus, TrainingSettings s, string name, IClippingPolicy? clipping,
        string? tensorboardDirectory = null, Action<int, CharRnn>? afterStep = null, Action<GradientMonitor, int, Action<int>>? runSteps = null,
        string? runLogPath = null, string? reportPath = null)
    {
        torch.manual_seed(s.Seed);
        var model = new CharRnn(s.Cell, corpus.Vocabulary.Length, s.Hidden);
        using var monitor = GradientMonitor.Attach(model, new MonitorOptions { HistoryLength = s.Steps });
        var policy = clipping is null ? Clip.SkipNonFinite() : Clip.Chain(Clip.SkipNonFinite(), clipping);
        using var optimizer = monitor.Guard(torch.optim.SGD(model.parameters(), s.LearningRate), policy);
        using var tensorboard = tensorboardDirectory is null ? null : TensorBoardSink.Attach(monitor, tensorboardDirectory);
        using var runLog = runLogPath is null ? null : JsonLinesSink.Attach(monitor, runLogPath);
        var steps = new List<StepRecord>();
        monitor.StepCaptured += steps.Add;
        var validation = new List<(long, double)>();
        Tensor[]? state = null;

        void Step(int step)
        {
            using var scope = torch.NewDisposeScope();
            var (x, y) = corpus.Chunk(corpus.Train, s.BatchSize, s.SequenceLength, step - 1, out bool wrapped);
            if (wrapped) state = Free(state);
            optimizer.zero_grad();
            var (logits, next) = model.Forward(x, state);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, corpus.Vocabulary.Length), y.reshape(-1));
            loss.backward();
            monitor.Capture(loss);
            optimizer.step();
            // Truncated BPTT: carry the state into the next chunk, cut from this chunk's graph.
            Free(state);
            state = next.Select(t => t.detach().DetachFromDisposeScope()).ToArray();
            if (step % s.EvaluateEvery == 0 || step == s.Steps) validation.Add((step, Evaluate(model, corpus, s)));
            afterStep?.Invoke(step, model);
        }

        if (runSteps != null) runSteps(monitor, s.Steps, Step);
        else for (int step = 1; step <= s.Steps; step++) Step(step);
        Free(state);
        monitor.StepCaptured -= steps.Add;
        if (reportPath != null) HtmlReport.Write(monitor, reportPath);
        return new RunResult(name, steps, validation, optimizer.ClippedSteps, optimizer.SkippedSteps, monitor.Diagnose(), model);
    }

    /// <summary>Mean cross-entropy (nats per character) on the first validation chunks, state carried across them.</summary>
    public static double Evaluate(CharRnn model, CharCorpus corpus, TrainingSettings s)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        model.train(false);
        int batch = Math.Max(1, Math.Min(s.BatchSize, (corpus.Validation.Length - 1) / (s.SequenceLength * s.ValidationBatches)));
        Tensor[]? state = null;
        double total = 0;
        for (int i = 0; i < s.ValidationBatches; i++)
        {
            var (x, y) = corpus.Chunk(corpus.Validation, batch, s.SequenceLength, i, out _);
            var (logits, next) = model.Forward(x, state);
            state = next;
            total += nn.functional.cross_entropy(logits.reshape(-1, corpus.Vocabulary.Length), y.reshape(-1)).item<float>();
        }
        model.train(true);
        return total / s.ValidationBatches;
    }

    private static Tensor[]? Free(Tensor[]? state)
    {
        if (state != null) foreach (var t in state) t.Dispose();
        return null;
    }
}
