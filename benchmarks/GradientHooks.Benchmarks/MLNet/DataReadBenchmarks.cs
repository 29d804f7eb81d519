using BenchmarkDotNet.Attributes;
using GradientHooks.MLNet;
using GradientHooks.MLNet.Data;
using Microsoft.ML;

namespace GradientHooks.Benchmarks.MLNet;

/// <summary>
/// Reading 100,000 rows of a 64-float feature vector into the trainer's float buffers (TrainingData.Read), from a
/// Concatenate + NormalizeMinMax view (the pipeline's lazy form) and from <c>mlContext.Data.Cache()</c>.
/// BenchmarkDotNet's warm-up covers the first pass; rows/s = 100,000 / mean time.
/// </summary>
[MemoryDiagnoser]
public class DataReadBenchmarks
{
    private const int Rows = 100_000;
    private IDataView _lazy = null!;
    private IDataView _cached = null!;

    [GlobalSetup]
    public void Setup()
    {
        var ml = new MLContext(1);
        _lazy = BenchmarkData.Wide(ml, Rows);
        _cached = ml.Data.Cache(_lazy);
        TrainingData.Read(_cached, TorchMlpTask.Regression, "Features", "Label", 64);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Rows)]
    public int FromNormalizedView() => TrainingData.Read(_lazy, TorchMlpTask.Regression, "Features", "Label", 64).Rows;

    /// <summary>ML.NET's own cost: a cursor over the normalised view calling both getters, storing nothing.</summary>
    [Benchmark(OperationsPerInvoke = Rows)]
    public float CursorOnlyNormalizedView()
    {
        using var cursor = _lazy.GetRowCursor(new[] { _lazy.Schema["Features"], _lazy.Schema["Label"] });
        var features = cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(_lazy.Schema["Features"]);
        var label = cursor.GetGetter<float>(_lazy.Schema["Label"]);
        var buffer = default(Microsoft.ML.Data.VBuffer<float>);
        float y = 0, last = 0;
        while (cursor.MoveNext())
        {
            features(ref buffer);
            label(ref y);
            last += y;
        }
        return last;
    }

    [Benchmark(OperationsPerInvoke = Rows)]
    public int FromCache() => TrainingData.Read(_cached, TorchMlpTask.Regression, "Features", "Label", 64).Rows;
}
