using System.Diagnostics;
using GradientHooks.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.Benchmarks.MLNet;

/// <summary>
/// Memory of a TorchMlp fit on wide sparse features: the same generated rows (20,000 rows, 16,384 slots, 30 non-zeros
/// a row, as a hashed bag of words gives) delivered sparse and delivered dense, plus the real FeaturizeText output of
/// the detox comments. Rows are generated lazily, so the data view itself holds nothing. For each fit: the growth of
/// the process's peak resident memory during the fit (Linux: VmHWM after resetting it through /proc/self/clear_refs),
/// fit time and test AUC. Prints Markdown.
/// </summary>
public static class SparseFit
{
    private const int Slots = 16_384, NonZeros = 30, Rows = 20_000;

    public sealed class SparseRow
    {
        [VectorType(Slots)] public VBuffer<float> Features;
        public bool Label;
    }

    public sealed class DenseRow
    {
        [VectorType(Slots)] public float[] Features = Array.Empty<float>();
        public bool Label;
    }

    /// <summary>Row i: 30 distinct slots with values in (0, 1]; the label is whether the lower half of the slots carries more.</summary>
    private static (int[] Slots, float[] Values, bool Label) Row(int seed, int i)
    {
        var r = new Random(seed * 1_000_003 + i);
        var set = new SortedSet<int>();
        while (set.Count < NonZeros) set.Add(r.Next(Slots));
        var slots = set.ToArray();
        var values = slots.Select(_ => (float)(1 - r.NextDouble())).ToArray();
        double low = 0, all = values.Sum();
        for (int k = 0; k < slots.Length; k++) if (slots[k] < Slots / 2) low += values[k];
        return (slots, values, low > all - low);
    }

    private static IEnumerable<SparseRow> SparseRows(int seed, int rows)
    {
        for (int i = 0; i < rows; i++)
        {
            var (s, v, l) = Row(seed, i);
            yield return new SparseRow { Features = new VBuffer<float>(Slots, v.Length, v, s), Label = l };
        }
    }

    private static IEnumerable<DenseRow> DenseRows(int seed, int rows)
    {
        for (int i = 0; i < rows; i++)
        {
            var (s, v, l) = Row(seed, i);
            var dense = new float[Slots];
            for (int k = 0; k < s.Length; k++) dense[s[k]] = v[k];
            yield return new DenseRow { Features = dense, Label = l };
        }
    }

    public static void Run()
    {
        TorchSharp.torch.set_num_threads(2);
        var ml = new MLContext(seed: 1);
        var options = new TorchMlpOptions { Epochs = 2, Seed = 1 };
        var test = ml.Data.LoadFromEnumerable(SparseRows(2, 2_000));
        Console.WriteLine("| input | dense size of the rows | peak memory growth during the fit | fit | test AUC |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        double denseMb = (double)Rows * Slots * 4 / (1 << 20);
        // Sparse fits first: the dense fit leaves gigabytes resident that later fits would reuse unseen.
        Measure(ml, "generated, delivered sparse (VBuffer with 30 indices)", denseMb, ml.Data.LoadFromEnumerable(SparseRows(1, Rows)), options, test);
        var detox = DetoxFeatures(ml);
        if (detox is var (train, evaluate, slots, rows))
            Measure(ml, $"detox comments, FeaturizeText ({slots:N0} slots, {rows} rows)", (double)rows * slots * 4 / (1 << 20), train,
                new TorchMlpOptions { Epochs = 30, BatchSize = 16, Seed = 1 }, evaluate);
        Measure(ml, "the generated rows delivered dense (float[16384])", denseMb, ml.Data.LoadFromEnumerable(DenseRows(1, Rows)), options, test);
        Console.WriteLine();
        Console.WriteLine($"{Rows:N0} generated rows × {Slots:N0} slots, {NonZeros} non-zeros a row, TorchMlp defaults (64-64, {TorchMlpOptions.AutomaticBatchSize(Rows)} rows a step), 2 epochs; detox: 30 epochs, 16 rows a step. Peak memory: growth of VmHWM over the RSS before the fit, after a full GC.");
    }

    private static (IDataView Train, IDataView Test, int Slots, long Rows)? DetoxFeatures(MLContext ml)
    {
        var train = BenchmarkData.SharedDataPath("wikipedia-detox-250-line-data.tsv");
        var test = BenchmarkData.SharedDataPath("wikipedia-detox-250-line-test.tsv");
        if (train is null || test is null) return null;
        IDataView Load(string path) => ml.Data.LoadFromTextFile(path, new[]
        {
            new TextLoader.Column("Label", DataKind.Boolean, 0), new TextLoader.Column("Text", DataKind.String, 1),
        }, separatorChar: '\t', hasHeader: true, allowQuoting: true);
        var text = Load(train);
        var featurize = ml.Transforms.Text.FeaturizeText("Features", "Text").Fit(text);
        var features = ml.Data.Cache(featurize.Transform(text));
        var slots = ((VectorDataViewType)features.Schema["Features"].Type).Size;
        return (features, featurize.Transform(Load(test)), slots, features.GetColumn<bool>("Label").LongCount());
    }

    private static void Measure(MLContext ml, string name, double denseMb, IDataView train, TorchMlpOptions options, IDataView test)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var before = Status("VmRSS:");
        ResetPeak();
        var clock = Stopwatch.StartNew();
        var model = ml.BinaryClassification.Trainers.TorchMlp(options).Fit(train);
        var seconds = clock.Elapsed.TotalSeconds;
        var peak = Status("VmHWM:");
        var auc = ml.BinaryClassification.Evaluate(model.Transform(test)).AreaUnderRocCurve;
        Console.WriteLine(FormattableString.Invariant($"| {name} | {denseMb:N0} MiB | {(peak - before) / 1024.0:N0} MiB | {seconds:F1} s | {auc:F3} |"));
    }

    /// <summary>Writing 5 to /proc/self/clear_refs resets the peak resident set size (Linux ≥ 4.0).</summary>
    private static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>A kB field of /proc/self/status.</summary>
    private static long Status(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0]);
        return 0;
    }
}
