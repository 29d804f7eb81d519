using GradientHooks.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>Wrong or missing columns fail before any training, naming the column, the type found and the type expected.</summary>
public sealed class SchemaErrorTests
{
    private sealed class Row
    {
        [VectorType(3)] public float[] Features = new float[3];
        [VectorType(3)] public double[] DoubleFeatures = new double[3];
        public float[] VariableFeatures = new float[3];
        public float ScalarFeature = 1;
        public float FloatLabel;
        public bool BoolLabel;
        public double DoubleLabel = 1;
        public string TextLabel = "a";
    }

    private static IDataView Data(MLContext ml)
    {
        var rows = Enumerable.Range(0, 8).Select(i => new Row { FloatLabel = i, BoolLabel = i % 2 == 0, TextLabel = (i % 3).ToString() }).ToArray();
        var view = ml.Data.LoadFromEnumerable(rows);
        return ml.Transforms.Conversion.MapValueToKey("KeyLabel", "TextLabel").Fit(view).Transform(view);
    }

    public static TheoryData<TorchMlpTask, string, string, string[]> Cases => new()
    {
        // task, feature column, label column, fragments the message must contain
        { TorchMlpTask.Regression, "Missing", "FloatLabel", new[] { "Could not find feature column 'Missing'" } },
        { TorchMlpTask.Regression, "Features", "Nope", new[] { "Could not find label column 'Nope'" } },
        { TorchMlpTask.Regression, "DoubleFeatures", "FloatLabel", new[] { "feature column 'DoubleFeatures'", "expected", "Single", "got Vector<Double" } },
        { TorchMlpTask.Regression, "VariableFeatures", "FloatLabel", new[] { "feature column 'VariableFeatures'", "known-size vector of Single", "got" } },
        { TorchMlpTask.Regression, "ScalarFeature", "FloatLabel", new[] { "feature column 'ScalarFeature'", "got Single" } },
        { TorchMlpTask.Regression, "Features", "DoubleLabel", new[] { "label column 'DoubleLabel'", "expected Single", "got Double" } },
        { TorchMlpTask.Regression, "Features", "BoolLabel", new[] { "label column 'BoolLabel'", "expected Single", "got Boolean" } },
        { TorchMlpTask.BinaryClassification, "Features", "FloatLabel", new[] { "label column 'FloatLabel'", "expected Boolean", "got Single" } },
        { TorchMlpTask.BinaryClassification, "Features", "KeyLabel", new[] { "label column 'KeyLabel'", "expected Boolean", "Key" } },
        { TorchMlpTask.MulticlassClassification, "Features", "FloatLabel", new[] { "label column 'FloatLabel'", "expected Key", "got Single", "MapValueToKey" } },
        { TorchMlpTask.MulticlassClassification, "Features", "TextLabel", new[] { "label column 'TextLabel'", "expected Key", "got String" } },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Fit_and_GetOutputSchema_name_the_column_and_both_types(TorchMlpTask task, string features, string label, string[] fragments)
    {
        var ml = new MLContext(1);
        var data = Data(ml);
        var estimator = Create(ml, task, new TorchMlpOptions { FeatureColumnName = features, LabelColumnName = label, Epochs = 1 });

        var atShape = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(SchemaShapeOf(ml, data)));
        var atFit = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(data));
        foreach (var message in new[] { atShape.Message, atFit.Message })
            foreach (var fragment in fragments)
                Assert.Contains(fragment, message);
    }

    [Fact]
    public void A_valid_schema_gives_the_conventional_output_columns_without_training()
    {
        var ml = new MLContext(1);
        var shape = SchemaShapeOf(ml, Data(ml));
        var regression = ml.Regression.Trainers.TorchMlp(labelColumnName: "FloatLabel").GetOutputSchema(shape);
        Assert.Contains(regression, c => c.Name == "Score" && c.ItemType == NumberDataViewType.Single && c.Kind == SchemaShape.Column.VectorKind.Scalar);

        var binary = ml.BinaryClassification.Trainers.TorchMlp(labelColumnName: "BoolLabel").GetOutputSchema(shape);
        Assert.Contains(binary, c => c.Name == "Probability" && c.ItemType == NumberDataViewType.Single);
        Assert.Contains(binary, c => c.Name == "PredictedLabel" && c.ItemType == BooleanDataViewType.Instance);

        var multi = ml.MulticlassClassification.Trainers.TorchMlp(labelColumnName: "KeyLabel").GetOutputSchema(shape);
        Assert.Contains(multi, c => c.Name == "Score" && c.Kind == SchemaShape.Column.VectorKind.Vector && c.ItemType == NumberDataViewType.Single);
        var predicted = multi.Single(c => c.Name == "PredictedLabel");
        Assert.True(predicted.IsKey);
        Assert.Contains(predicted.Annotations, a => a.Name == "KeyValues");
        // The shape is what a following MapKeyToValue needs: the chain's schema check passes without data.
        ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").GetOutputSchema(multi);
    }

    [Fact]
    public void Scoring_with_a_different_feature_size_names_the_expected_and_found_vector()
    {
        var ml = new MLContext(1);
        var model = ml.Regression.Trainers.TorchMlp(labelColumnName: "FloatLabel", epochs: 1, seed: 1).Fit(Data(ml));
        var wide = ml.Data.LoadFromEnumerable(new[] { new WideRow() });
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(wide));
        Assert.Contains("feature column 'Features': expected Vector<Single, 3>, got Vector<Single, 5>", error.Message);
    }

    private sealed class WideRow
    {
        [VectorType(5)] public float[] Features = new float[5];
    }

    internal static TorchMlpEstimator Create(MLContext ml, TorchMlpTask task, TorchMlpOptions options) => task switch
    {
        TorchMlpTask.Regression => ml.Regression.Trainers.TorchMlp(options),
        TorchMlpTask.BinaryClassification => ml.BinaryClassification.Trainers.TorchMlp(options),
        _ => ml.MulticlassClassification.Trainers.TorchMlp(options),
    };

    public sealed class NoInput
    {
    }

    /// <summary>
    /// The shape of <see cref="Data"/>'s schema, built through public API only: ML.NET's SchemaShape.Create is
    /// internal, but a custom mapping with no inputs adds exactly the columns of its output definition.
    /// </summary>
    internal static SchemaShape SchemaShapeOf(MLContext ml, IDataView data)
    {
        var definition = SchemaDefinition.Create(typeof(ShapeRow), SchemaDefinition.Direction.Both);
        var key = definition.Single(c => c.MemberName == nameof(ShapeRow.KeyLabel));
        key.ColumnType = new KeyDataViewType(typeof(uint), 3);
        key.AddAnnotation("KeyValues", new VBuffer<ReadOnlyMemory<char>>(3, new[] { "0".AsMemory(), "1".AsMemory(), "2".AsMemory() }),
            new VectorDataViewType(TextDataViewType.Instance, 3));
        var shape = ml.Transforms.CustomMapping<NoInput, ShapeRow>((_, _) => { }, null, null, definition)
            .GetOutputSchema(new SchemaShape(Array.Empty<SchemaShape.Column>()));
        Assert.Equal(data.Schema.Count, shape.Count);
        return shape;
    }

    public sealed class ShapeRow
    {
        [VectorType(3)] public float[] Features = new float[3];
        [VectorType(3)] public double[] DoubleFeatures = new double[3];
        public float[] VariableFeatures = new float[3];
        public float ScalarFeature;
        public float FloatLabel;
        public bool BoolLabel;
        public double DoubleLabel;
        public string TextLabel = "a";
        public uint KeyLabel;
    }
}
