using GradientHooks.MLNet.Data;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>
/// Sparse, wide features (FeaturizeText) are kept as compressed sparse rows and densified one batch at a time; the
/// model trained from them is the one the same rows give dense.
/// </summary>
public sealed class SparseFeaturesTests
{
    private const int Slots = 600;

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

    /// <summary>400 rows, 12 non-zeros each among 600 slots; the label is whether slots below 300 carry more weight.</summary>
    private static List<(int[] Slots, float[] Values, bool Label)> Rows(int seed = 3)
    {
        var r = new Random(seed);
        var rows = new List<(int[], float[], bool)>();
        for (int i = 0; i < 400; i++)
        {
            var slots = Enumerable.Range(0, Slots).OrderBy(_ => r.Next()).Take(12).Order().ToArray();
            var values = slots.Select(_ => (float)r.NextDouble()).ToArray();
            double low = slots.Zip(values).Where(p => p.First < 300).Sum(p => p.Second), high = values.Sum() - low;
            rows.Add((slots, values, low > high));
        }
        return rows;
    }

    private static IDataView Sparse(MLContext ml, List<(int[] Slots, float[] Values, bool Label)> rows) =>
        ml.Data.LoadFromEnumerable(rows.Select(x => new SparseRow { Features = new VBuffer<float>(Slots, x.Values.Length, x.Values, x.Slots), Label = x.Label }).ToArray());

    private static IDataView Dense(MLContext ml, List<(int[] Slots, float[] Values, bool Label)> rows) =>
        ml.Data.LoadFromEnumerable(rows.Select(x =>
        {
            var dense = new float[Slots];
            for (int k = 0; k < x.Slots.Length; k++) dense[x.Slots[k]] = x.Values[k];
            return new DenseRow { Features = dense, Label = x.Label };
        }).ToArray());

    [Fact]
    public void Sparse_wide_rows_are_read_as_CSR_holding_only_the_stored_values()
    {
        var ml = new MLContext(1);
        var rows = Rows();
        var data = TrainingData.Read(Sparse(ml, rows), TorchMlpTask.BinaryClassification, "Features", "Label", Slots);
        var csr = Assert.IsType<SparseRows>(data.Sparse);
        Assert.Empty(data.Features);
        Assert.Equal(400 * 12, csr.Stored);
        Assert.Equal(rows[7].Slots, csr.Indices[csr.Starts[7]..csr.Starts[8]]);
        Assert.Equal(rows[7].Values, csr.Values[csr.Starts[7]..csr.Starts[8]]);
        Assert.Equal(rows.Select(x => x.Label ? 1f : 0f), data.Labels);

        // The same rows delivered dense stay dense.
        Assert.Null(TrainingData.Read(Dense(ml, rows), TorchMlpTask.BinaryClassification, "Features", "Label", Slots).Sparse);
    }

    [Fact]
    public void Sparse_and_dense_delivery_of_the_same_rows_train_the_same_model()
    {
        var ml = new MLContext(1);
        var rows = Rows();
        // A hold-out too, so the sparse split and the chunked validation loss are exercised.
        TorchMlpOptions Options() => new() { Epochs = 20, BatchSize = 32, LearningRate = 1e-2, Seed = 5, HiddenLayers = new[] { 16 }, ValidationFraction = 0.2, EarlyStoppingPatience = 0 };
        var sparse = ml.BinaryClassification.Trainers.TorchMlp(Options()).Fit(Sparse(ml, rows));
        var dense = ml.BinaryClassification.Trainers.TorchMlp(Options()).Fit(Dense(ml, rows));

        Assert.Equal(dense.TrainingHistory.Select(e => e.Loss), sparse.TrainingHistory.Select(e => e.Loss));
        Assert.Equal(dense.TrainingHistory.Select(e => e.ValidationLoss), sparse.TrainingHistory.Select(e => e.ValidationLoss));
        var test = Dense(ml, Rows(seed: 4));
        Assert.Equal(dense.Transform(test).GetColumn<float>("Score"), sparse.Transform(test).GetColumn<float>("Score"));
        // And it learned the rule.
        var auc = ml.BinaryClassification.Evaluate(sparse.Transform(test)).AreaUnderRocCurve;
        Assert.True(auc > 0.7, $"AUC {auc}");
    }

    [Fact]
    public void A_non_finite_value_in_a_sparse_row_names_the_row_and_slot()
    {
        var ml = new MLContext(1);
        var rows = Rows();
        rows[9].Values[4] = float.NaN;
        var error = Assert.Throws<InvalidOperationException>(() => ml.BinaryClassification.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 1 }).Fit(Sparse(ml, rows)));
        Assert.Contains($"Feature column 'Features' has NaN at row 9, slot {rows[9].Slots[4]}", error.Message);
    }

    [DataFact("wikipedia-detox-250-line-data.tsv")]
    public void FeaturizeText_output_is_read_sparse()
    {
        var ml = new MLContext(1);
        var text = ml.Data.LoadFromTextFile(SharedData.PathOf("wikipedia-detox-250-line-data.tsv"), new[]
        {
            new TextLoader.Column("Label", DataKind.Boolean, 0), new TextLoader.Column("Text", DataKind.String, 1),
        }, separatorChar: '\t', hasHeader: true, allowQuoting: true);
        var featurized = ml.Transforms.Text.FeaturizeText("Features", "Text").Fit(text).Transform(text);
        var slots = ((VectorDataViewType)featurized.Schema["Features"].Type).Size;
        var data = TrainingData.Read(featurized, TorchMlpTask.BinaryClassification, "Features", "Label", slots);
        var csr = Assert.IsType<SparseRows>(data.Sparse);
        // Independent count of what ML.NET stored.
        long stored = featurized.GetColumn<VBuffer<float>>("Features").Sum(v => (long)v.GetValues().Length);
        Assert.Equal(stored, csr.Stored);
        Assert.True(csr.Stored < 0.05 * data.Rows * (long)slots, $"{csr.Stored} stored of {data.Rows} × {slots}");
    }
}
