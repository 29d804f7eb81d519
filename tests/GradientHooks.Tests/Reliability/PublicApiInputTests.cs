using GradientHooks.Clipping;
using GradientHooks.Diagnostics;
using GradientHooks.Initialization;
using GradientHooks.Layers;
using GradientHooks.Reporting;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GradientHooks.Tests.Reliability;

/// <summary>
/// Every public entry point with null, empty, negative, NaN and out-of-range arguments: one row per case, each
/// expecting an exception of a given type that names the argument or option and says what was expected.
/// (Clipping factories have their own table in PolicyFormulaTests; the ML.NET trainer in MLNetBridge.Tests.)
/// </summary>
public sealed class PublicApiInputTests
{
    private sealed record Case(Type Exception, string? Param, string Fragment, Action Act);

    private static readonly Dictionary<string, Case> Cases = Build();

    public static TheoryData<string> Names => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Bad_input_gets_a_clear_error_naming_what_was_wrong(string name)
    {
        var c = Cases[name];
        var e = Record.Exception(c.Act);
        Assert.NotNull(e);
        Assert.IsAssignableFrom(c.Exception, e);
        if (c.Param != null) Assert.Equal(c.Param, ((ArgumentException)e).ParamName);
        Assert.Contains(c.Fragment, e.Message);
    }

    private static Dictionary<string, Case> Build()
    {
        var cases = new Dictionary<string, Case>();
        void Add(string name, Type exception, string? param, string fragment, Action act) => cases.Add(name, new Case(exception, param, fragment, act));
        var nullEx = typeof(ArgumentNullException);
        var range = typeof(ArgumentOutOfRangeException);
        var arg = typeof(ArgumentException);
        var invalid = typeof(InvalidOperationException);

        // GradientMonitor.Attach and MonitorOptions
        Add("Attach(null)", nullEx, "model", "model", () => GradientMonitor.Attach(null!));
        Add("Attach(no trainable parameters)", arg, "model", "no trainable parameters", () =>
        {
            var frozen = TestModels.Mlp();
            foreach (var p in frozen.parameters()) p.requires_grad = false;
            GradientMonitor.Attach(frozen);
        });
        foreach (var (option, options) in new (string, MonitorOptions)[]
                 {
                     ("HistoryLength", new MonitorOptions { HistoryLength = 0 }),
                     ("HistoryLength", new MonitorOptions { HistoryLength = -5 }),
                     ("Every", new MonitorOptions { Every = 0 }),
                     ("UpdateRatioSampleSize", new MonitorOptions { UpdateRatioSampleSize = -1 }),
                     ("SaturationDerivativeFraction", new MonitorOptions { SaturationDerivativeFraction = 0 }),
                     ("SaturationDerivativeFraction", new MonitorOptions { SaturationDerivativeFraction = 1 }),
                     ("SaturationDerivativeFraction", new MonitorOptions { SaturationDerivativeFraction = double.NaN }),
                 })
            Add($"Attach(options.{option} = {Describe(options, option)})", range, option, $"MonitorOptions.{option}", () => GradientMonitor.Attach(TestModels.Mlp(), options));

        // Capture, Guard, Diagnose
        Add("Capture((Tensor)null)", nullEx, "loss", "loss", () => { using var m = Monitored(out _); m.Capture((Tensor)null!); });
        Add("Capture(non-scalar loss)", arg, "loss", "expects a scalar loss tensor; got shape [2]", () => { using var m = Monitored(out _); m.Capture(torch.ones(2)); });
        Add("Capture() before backward", invalid, null, "Call loss.backward() before Capture", () => { using var m = GradientMonitor.Attach(TestModels.Mlp()); m.Capture(); });
        Add("Capture() after Dispose", typeof(ObjectDisposedException), null, "GradientMonitor", () => { var m = Monitored(out _); m.Dispose(); m.Capture(); });
        Add("Guard(null)", nullEx, "optimizer", "optimizer", () => { using var m = Monitored(out _); m.Guard(null!); });
        Add("Guard(a GuardedOptimizer)", arg, "optimizer", "already a GuardedOptimizer", () =>
        {
            using var m = Monitored(out var model);
            using var other = GradientMonitor.Attach(TestModels.Mlp(seed: 9));
            m.Guard(other.Guard(optim.SGD(model.parameters(), 0.1)));
        });
        Add("Guard twice", invalid, null, "already guards an optimizer", () =>
        {
            using var m = Monitored(out var model);
            m.Guard(optim.SGD(model.parameters(), 0.1));
            m.Guard(optim.SGD(model.parameters(), 0.1));
        });
        Add("Diagnose(VanishingRatio = 2)", range, "VanishingRatio", "VanishingRatio", () => Diagnoser.Diagnose(Array.Empty<StepRecord>(), new DiagnosticThresholds { VanishingRatio = 2 }));
        Add("Diagnose(OscillationAutocorrelation = NaN)", range, "OscillationAutocorrelation", "[−1, 1]", () => Diagnoser.Diagnose(Array.Empty<StepRecord>(), new DiagnosticThresholds { OscillationAutocorrelation = double.NaN }));
        Add("new GradientStats(count -1)", range, "count", "count", () => _ = new GradientStats(-1, 0, 0, 0, 0));

        // Initialization
        Add("Init.Apply(null)", nullEx, "model", "model", () => Init.Apply(null!, InitScheme.HeNormal));
        Add("Init.Apply(unknown scheme)", range, "scheme", "scheme", () => Init.Apply(TestModels.Mlp(), (InitScheme)99));
        Add("Init.Gain(unknown activation)", range, "activation", "Unknown activation", () => Init.Gain((Activation)99));
        Add("Init.Gain(LeakyReLU, NaN slope)", range, "parameter", "slope", () => Init.Gain(Activation.LeakyReLU, double.NaN));
        Add("Init.StdFor(fanIn 0)", range, "fanIn", "fanIn must be positive", () => Init.StdFor(InitScheme.HeNormal, 0, 10));
        Add("Init.StdFor(fanOut -1)", range, "fanOut", "fanOut must be positive", () => Init.StdFor(InitScheme.XavierNormal, 10, -1));
        Add("Init.StdFor(gain NaN)", range, "gain", "gain must be a finite number > 0", () => Init.StdFor(InitScheme.HeNormal, 10, 10, double.NaN));
        Add("Init.StdFor(gain 0)", range, "gain", "gain must be a finite number > 0", () => Init.StdFor(InitScheme.HeNormal, 10, 10, 0));
        Add("Init.Fill(null)", nullEx, "tensor", "tensor", () => Init.Fill(null!, InitScheme.HeNormal));
        Add("Init.Fill(1-D tensor)", arg, "tensor", "at least 2 dimensions", () => Init.Fill(torch.empty(5), InitScheme.HeNormal));

        // Layers
        Add("ActivationSwap.Replace(null)", nullEx, "model", "model", () => ActivationSwap.Replace((TorchSharp.Modules.Sequential)null!, Activation.Sigmoid, Activation.ReLU));
        Add("ActivationSwap.Replace(from Linear)", arg, "from", "Linear (identity) has no module", () => ActivationSwap.Replace(TestModels.Mlp(), Activation.Linear, Activation.ReLU));
        Add("ActivationSwap.Replace(Module, from Linear)", arg, "from", "no module to replace", () => ActivationSwap.Replace((nn.Module)nn.Linear(2, 2), Activation.Linear, Activation.ELU));
        Add("Normalization.InsertBatchNorm(null)", nullEx, "model", "model", () => Normalization.InsertBatchNorm((TorchSharp.Modules.Sequential)null!));
        Add("Normalization.InsertBatchNorm(non-Sequential)", arg, null, "Sequential", () => Normalization.InsertBatchNorm(nn.Linear(2, 2)));

        // Reporting
        Add("TensorBoardSink.Attach(null monitor)", nullEx, "monitor", "monitor", () => TensorBoardSink.Attach(null!, Temp()));
        Add("TensorBoardSink.Attach(empty folder)", arg, "logDirectory", "the log folder path is empty", () => { using var m = Monitored(out _); TensorBoardSink.Attach(m, " "); });
        Add("TensorBoardSink.Attach(ScalarEvery 0)", range, "ScalarEvery", "ScalarEvery must be at least 1", () => { using var m = Monitored(out _); TensorBoardSink.Attach(m, Temp(), new TensorBoardOptions { ScalarEvery = 0 }); });
        Add("TensorBoardSink.Attach(FlushInterval < 0)", range, "FlushInterval", "must not be negative", () => { using var m = Monitored(out _); TensorBoardSink.Attach(m, Temp(), new TensorBoardOptions { FlushInterval = TimeSpan.FromSeconds(-1) }); });
        Add("JsonLinesSink.Attach(null path)", nullEx, "path", "path", () => { using var m = Monitored(out _); JsonLinesSink.Attach(m, null!); });
        Add("CsvSink.Attach(empty path)", arg, "path", "path", () => { using var m = Monitored(out _); CsvSink.Attach(m, ""); });
        Add("GradientCharts.GradientFlow(null)", nullEx, "history", "history", () => GradientCharts.GradientFlow((IReadOnlyList<StepRecord>)null!, Temp() + ".png"));
        Add("GradientCharts.GradientFlow(empty history)", arg, "history", "no fully captured step", () => GradientCharts.GradientFlow(Array.Empty<StepRecord>(), Temp() + ".png"));
        Add("GradientCharts.LossCurve(no losses)", arg, "history", "pass the loss to monitor.Capture(loss)", () => GradientCharts.LossCurve(Captured(withLoss: false), Temp() + ".png"));
        Add("GradientCharts.NormHeatmap(tiny size)", range, "width", "too small", () => GradientCharts.NormHeatmap(Captured(withLoss: true), Temp() + ".png", 10, 10));
        Add("GradientCharts.CompareRuns(no runs)", arg, "runs", "at least one run", () => GradientCharts.CompareRuns(new Dictionary<string, IReadOnlyList<StepRecord>>(), ChartMetric.Loss, Temp() + ".png"));
        Add("TrainingProgress.Run(steps 0)", range, "steps", "steps", () => { using var m = Monitored(out _); TrainingProgress.Run(m, 0, _ => { }); });
        Add("TrainingProgress.Run(null step)", nullEx, "trainStep", "trainStep", () => { using var m = Monitored(out _); TrainingProgress.Run(m, 5, null!); });
        return cases;
    }

    private static string Describe(MonitorOptions o, string option) => option switch
    {
        "HistoryLength" => o.HistoryLength.ToString(),
        "Every" => o.Every.ToString(),
        "UpdateRatioSampleSize" => o.UpdateRatioSampleSize.ToString(),
        _ => o.SaturationDerivativeFraction.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static GradientMonitor Monitored(out TorchSharp.Modules.Sequential model)
    {
        model = TestModels.Mlp();
        return GradientMonitor.Attach(model);
    }

    private static IReadOnlyList<StepRecord> Captured(bool withLoss)
    {
        var model = TestModels.Mlp();
        var (x, y) = TestModels.Batch();
        using var monitor = GradientMonitor.Attach(model);
        for (var i = 0; i < 3; i++)
        {
            var loss = TestModels.Backward(model, x, y);
            monitor.Capture(withLoss ? loss : null);
            foreach (var p in model.parameters()) p.grad?.zero_();
        }
        return monitor.History.ToArray();
    }

    private static string Temp() => Path.Combine(Path.GetTempPath(), "gh-input-" + Guid.NewGuid().ToString("N"));
}
