using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.MLNet.Data;

/// <summary>
/// Checks the feature and label columns against what a TorchMlp needs, before any training, in ML.NET's own
/// wording: <c>Could not find feature column 'Features'</c>, or <c>Schema mismatch for label column 'Label':
/// expected Boolean, got Single</c>, thrown as <see cref="ArgumentOutOfRangeException"/> (as ML.NET does).
/// Features: a known-size vector of Single. Label: Single (regression), Boolean (binary), a key (multiclass).
/// </summary>
internal static class ColumnCheck
{
    private const string Param = "inputSchema";

    /// <summary>Checks a <see cref="SchemaShape"/> (estimator's <c>GetOutputSchema</c>, no data read).</summary>
    public static void Check(SchemaShape schema, TorchMlpTask task, string featureColumn, string labelColumn)
    {
        if (Find(schema, featureColumn) is not { } features) throw Missing("feature", featureColumn);
        if (features.Kind != SchemaShape.Column.VectorKind.Vector || features.IsKey || features.ItemType != NumberDataViewType.Single)
            throw Mismatch("feature", featureColumn, "known-size vector of Single", Describe(features), FeatureHint);
        if (Find(schema, labelColumn) is not { } label) throw Missing("label", labelColumn);
        var ok = label.Kind == SchemaShape.Column.VectorKind.Scalar && task switch
        {
            TorchMlpTask.Regression => !label.IsKey && label.ItemType == NumberDataViewType.Single,
            TorchMlpTask.BinaryClassification => !label.IsKey && label.ItemType == BooleanDataViewType.Instance,
            _ => label.IsKey,
        };
        if (!ok) throw Mismatch("label", labelColumn, ExpectedLabel(task), Describe(label), LabelHint(task));
    }

    /// <summary>The column of a shape with that name, or null (SchemaShape's own lookup is internal to ML.NET).</summary>
    public static SchemaShape.Column? Find(SchemaShape schema, string name)
    {
        foreach (var column in schema)
            if (column.Name == name) return column;
        return null;
    }

    /// <summary>Checks a concrete schema for training; returns the feature count and, for multiclass, the label's key type.</summary>
    public static (int FeatureCount, KeyDataViewType? LabelKey) CheckForTraining(DataViewSchema schema, TorchMlpTask task, string featureColumn, string labelColumn)
    {
        var featureCount = CheckFeatures(schema, featureColumn, null);
        var label = schema.GetColumnOrNull(labelColumn) ?? throw Missing("label", labelColumn);
        var type = label.Type;
        var ok = task switch
        {
            TorchMlpTask.Regression => type == NumberDataViewType.Single,
            TorchMlpTask.BinaryClassification => type == BooleanDataViewType.Instance,
            _ => type is KeyDataViewType,
        };
        if (!ok) throw Mismatch("label", labelColumn, ExpectedLabel(task), Describe(type), LabelHint(task));
        if (type is KeyDataViewType key && key.Count < 2)
            throw Mismatch("label", labelColumn, "a key type with at least 2 values", Describe(type), "");
        if (type is KeyDataViewType { Count: > int.MaxValue / 4 } big)
            throw Mismatch("label", labelColumn, "a key type with a class count that fits in memory", Describe(big), "");
        return (featureCount, type as KeyDataViewType);
    }

    /// <summary>Checks the feature column of a concrete schema; with <paramref name="expectedCount"/>, its size too.</summary>
    public static int CheckFeatures(DataViewSchema schema, string featureColumn, int? expectedCount)
    {
        var column = schema.GetColumnOrNull(featureColumn) ?? throw Missing("feature", featureColumn);
        var expected = expectedCount is { } n ? new VectorDataViewType(NumberDataViewType.Single, n).ToString() : "known-size vector of Single";
        if (column.Type is not VectorDataViewType { ItemType: var item, Size: > 0 } vector || item != NumberDataViewType.Single)
            throw Mismatch("feature", featureColumn, expected, Describe(column.Type), FeatureHint);
        if (expectedCount is { } count && vector.Size != count)
            throw Mismatch("feature", featureColumn, expected, Describe(column.Type), " (the model was trained on a different number of features)");
        return vector.Size;
    }

    private const string FeatureHint = " (build it with mlContext.Transforms.Concatenate and, for other number types, Conversion.ConvertType)";

    private static string ExpectedLabel(TorchMlpTask task) => task switch
    {
        TorchMlpTask.Regression => "Single",
        TorchMlpTask.BinaryClassification => "Boolean",
        _ => "Key",
    };

    private static string LabelHint(TorchMlpTask task) => task switch
    {
        TorchMlpTask.MulticlassClassification => " (map the label to a key with mlContext.Transforms.Conversion.MapValueToKey)",
        TorchMlpTask.BinaryClassification => " (convert the label with mlContext.Transforms.Conversion.ConvertType or a CustomMapping)",
        _ => " (convert the label with mlContext.Transforms.Conversion.ConvertType(outputKind: DataKind.Single))",
    };

    private static string Describe(DataViewType type) => type.ToString() ?? type.GetType().Name;

    private static string Describe(SchemaShape.Column column)
    {
        var item = column.IsKey ? $"Key<{Describe(column.ItemType)}>" : Describe(column.ItemType);
        return column.Kind switch
        {
            SchemaShape.Column.VectorKind.Vector => $"Vector<{item}>",
            SchemaShape.Column.VectorKind.VariableVector => $"VarVector<{item}>",
            _ => item,
        };
    }

    private static ArgumentOutOfRangeException Missing(string role, string name) =>
        new(Param, $"Could not find {role} column '{name}'");

    private static ArgumentOutOfRangeException Mismatch(string role, string name, string expected, string found, string hint) =>
        new(Param, $"Schema mismatch for {role} column '{name}': expected {expected}, got {found}{hint}");
}
