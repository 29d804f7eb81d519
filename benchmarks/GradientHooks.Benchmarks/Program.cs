// Benchmarks (BenchmarkDotNet, in-process) and the long soak run.
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- --filter '*'     all benchmarks
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- readme 40        the README's cost table
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- capture-scaling 15   capture cost against the number of parameter tensors
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- --filter '*GradientStatistics*'   the statistics pass alone (fused vs libtorch)
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- taxi-fit 5          TorchMlp vs FastTree and SDCA on taxi-fare (fit time, R²)
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- sparse-fit         TorchMlp's peak memory on wide sparse features, delivered sparse and dense
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- output-taps 10     cost of recording ∂L/∂h (TrackOutputGradients), every step and Every = 10
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- loss-scaling 10    cost of a LossScaler (float32, float16 with MasterWeights) against the unscaled guarded step
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- lr-grid             the range test's suggestion against a grid of rates (optdigits CNN, taxi-fare TorchMlp)
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- noise-scale 10      cost of TrackNoiseScale with 4 micro-batches a step, interleaved
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- soak 20000       RSS / tensor-count soak
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- mlnet-epoch 15   TorchMlp epoch vs hand-written loop (add --variants for monitor settings)
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- --filter '*DataRead*'   IDataView → buffers
//   dotnet run -c Release --project benchmarks/GradientHooks.Benchmarks -- --filter '*FirstSteps*'   cost of the data-flow order and input-scale check (first steps, later steps)
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using GradientHooks.Benchmarks;

if (args.Length >= 1 && args[0] == "interleaved")
{
    Interleaved.Run(args.Length > 1 ? int.Parse(args[1]) : 30, args.Length > 2 ? int.Parse(args[2]) : 20);
    return 0;
}
if (args.Length >= 1 && args[0] == "profile") { Profile.Run(); return 0; }
if (args.Length >= 1 && args[0] == "taxi-fit")
{
    GradientHooks.Benchmarks.MLNet.TaxiFareFit.Run(args.Length > 1 ? int.Parse(args[1]) : 5);
    return 0;
}
if (args.Length >= 1 && args[0] == "sparse-fit")
{
    GradientHooks.Benchmarks.MLNet.SparseFit.Run();
    return 0;
}
if (args.Length >= 1 && args[0] == "capture-scaling")
{
    CaptureScaling.Run(args.Length > 1 ? int.Parse(args[1]) : 15);
    return 0;
}
if (args.Length >= 1 && args[0] == "output-taps")
{
    OutputTapCost.Run(args.Length > 1 ? int.Parse(args[1]) : 10);
    return 0;
}
if (args.Length >= 1 && args[0] == "loss-scaling")
{
    LossScalingCost.Run(args.Length > 1 ? int.Parse(args[1]) : 10);
    return 0;
}
if (args.Length >= 1 && args[0] == "lr-grid") return RangeTestGrid.Run();
if (args.Length >= 1 && args[0] == "noise-scale")
{
    NoiseScaleCost.Run(args.Length > 1 ? int.Parse(args[1]) : 10);
    return 0;
}
if (args.Length >= 1 && args[0] == "readme")
{
    ReadmeTable.Run(args.Length > 1 ? int.Parse(args[1]) : 40);
    return 0;
}
if (args.Length >= 1 && args[0] == "mlnet-epoch")
{
    GradientHooks.Benchmarks.MLNet.EpochComparison.Run(args.Length > 1 ? int.Parse(args[1]) : 15, args.Contains("--variants"));
    return 0;
}
if (args.Length >= 1 && args[0] == "soak")
    return Soak.Run(args.Length > 1 ? int.Parse(args[1]) : 10_000);

// In-process: the native TorchSharp fix is applied to this project's output, and no child project is generated.
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(15))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(ReferenceMlp).Assembly).Run(args, config);
return 0;
