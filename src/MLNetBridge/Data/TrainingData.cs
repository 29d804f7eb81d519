using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.MLNet.Data;

/// <summary>
/// The training rows of an <see cref="IDataView"/> read once, in one cursor pass: the labels as one flat float array
/// (the regression value; 1/0 for binary; the 0-based class index for multiclass, i.e. key − 1) and the features
/// either dense, row-major in one float array (<see cref="Rows"/> × <see cref="FeatureCount"/>), or, when ML.NET
/// delivers them sparse and wide (the first row sparse, at least <see cref="SparseMinimumSlots"/> slots, as
/// FeaturizeText's are), as compressed sparse rows (<see cref="Sparse"/>) that are never densified beyond a batch.
/// No tensor is made per row: training draws mini-batches with <c>index_select</c> (dense) or densifies only the
/// batch (sparse). Memory: dense 4·rows·(features + 1) bytes; sparse 8 bytes per stored value plus 8 per row.
/// </summary>
internal sealed class TrainingData
{
    /// <summary>Feature vectors at least this wide that arrive sparse are kept sparse.</summary>
    public const int SparseMinimumSlots = 512;

    private TrainingData(float[] features, SparseRows? sparse, float[] labels, int rows, int featureCount)
    {
        Features = features;
        Sparse = sparse;
        Labels = labels;
        Rows = rows;
        FeatureCount = featureCount;
    }

    /// <summary>Dense features, row-major; empty when <see cref="Sparse"/> holds them.</summary>
    public float[] Features { get; }

    /// <summary>The features as CSR when they arrived sparse and wide; otherwise null.</summary>
    public SparseRows? Sparse { get; }
    public float[] Labels { get; }
    public int Rows { get; }
    public int FeatureCount { get; }

    /// <summary>
    /// Reads the feature and label columns. A NaN or infinite feature, a NaN or infinite regression label, or a
    /// missing key (0) in a multiclass label throws <see cref="InvalidOperationException"/> naming the column, the
    /// row and, for features, the slot; no rows throws too, naming the <paramref name="role"/> of the data.
    /// </summary>
    public static TrainingData Read(IDataView data, TorchMlpTask task, string featureColumn, string labelColumn, int featureCount, ulong classCount = 0, string role = "training")
    {
        var featureCol = data.Schema[featureColumn];
        var labelCol = data.Schema[labelColumn];
        var capacity = data.GetRowCount() is long n and > 0 and < int.MaxValue ? (int)n : 1024;
        float[]? features = null;
        SparseBuilder? sparse = null;
        var labels = new float[capacity];
        var rows = 0;
        using (var cursor = data.GetRowCursor(new[] { featureCol, labelCol }))
        {
            var getFeatures = cursor.GetGetter<VBuffer<float>>(featureCol);
            var getLabel = LabelReader(cursor, labelCol, task, classCount);
            var buffer = default(VBuffer<float>);
            while (cursor.MoveNext())
            {
                getFeatures(ref buffer);
                if (rows == 0)
                {
                    if (!buffer.IsDense && featureCount >= SparseMinimumSlots) sparse = new SparseBuilder(featureCount, capacity);
                    else features = new float[checked(capacity * featureCount)];
                }
                if (rows == labels.Length)
                {
                    Array.Resize(ref labels, checked(labels.Length * 2));
                    if (features is not null) Array.Resize(ref features, checked(labels.Length * featureCount));
                }
                if (sparse is not null)
                {
                    var values = buffer.GetValues();
                    if (!float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(values))) ThrowNonFinite(buffer.DenseValues().ToArray(), featureColumn, rows);
                    sparse.Add(buffer);
                }
                else
                {
                    var row = features.AsSpan(rows * featureCount, featureCount);
                    buffer.CopyTo(row);
                    if (!float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(row))) ThrowNonFinite(row, featureColumn, rows);
                }
                labels[rows] = getLabel(rows);
                rows++;
            }
        }
        if (rows == 0)
            throw new InvalidOperationException($"The {role} data has no rows: TorchMlp needs at least one row with column '{featureColumn}' and label '{labelColumn}'.");
        if (labels.Length != rows) Array.Resize(ref labels, rows);
        if (sparse is not null) return new TrainingData(Array.Empty<float>(), sparse.Build(), labels, rows, featureCount);
        if (features!.Length != rows * featureCount) Array.Resize(ref features, rows * featureCount);
        return new TrainingData(features, null, labels, rows, featureCount);
    }

    /// <summary>Appends rows to growing CSR arrays, keeping only the slots ML.NET stored.</summary>
    private sealed class SparseBuilder
    {
        private readonly int _slots;
        private int[] _starts;
        private int[] _indices = new int[1024];
        private float[] _values = new float[1024];
        private int _rows, _stored;

        public SparseBuilder(int slots, int rowCapacity)
        {
            _slots = slots;
            _starts = new int[rowCapacity + 1];
        }

        public void Add(in VBuffer<float> row)
        {
            if (_rows + 1 == _starts.Length) Array.Resize(ref _starts, checked(_starts.Length * 2));
            var values = row.GetValues();
            int need = checked(_stored + values.Length);
            if (need > _values.Length)
            {
                int size = Math.Max(need, checked(_values.Length * 2));
                Array.Resize(ref _indices, size);
                Array.Resize(ref _values, size);
            }
            values.CopyTo(_values.AsSpan(_stored));
            if (row.IsDense)
                for (int k = 0; k < values.Length; k++) _indices[_stored + k] = k;
            else
                row.GetIndices().CopyTo(_indices.AsSpan(_stored));
            _stored = need;
            _starts[++_rows] = _stored;
        }

        public SparseRows Build()
        {
            Array.Resize(ref _starts, _rows + 1);
            Array.Resize(ref _indices, _stored);
            Array.Resize(ref _values, _stored);
            return new SparseRows(_starts, _indices, _values, _slots);
        }
    }

    private static void ThrowNonFinite(ReadOnlySpan<float> row, string column, int rowIndex)
    {
        for (var slot = 0; slot < row.Length; slot++)
            if (!float.IsFinite(row[slot]))
                throw new InvalidOperationException(
                    $"Feature column '{column}' has {row[slot].ToString(System.Globalization.CultureInfo.InvariantCulture)} at row {rowIndex}, slot {slot}: TorchMlp needs finite features " +
                    "(replace missing values with mlContext.Transforms.ReplaceMissingValues, or filter the rows).");
        // The sum overflowed although every value is finite: features this large need normalising first.
        throw new InvalidOperationException(
            $"Feature column '{column}' at row {rowIndex} sums to infinity: normalise the features (e.g. mlContext.Transforms.NormalizeMinMax).");
    }

    private static Func<int, float> LabelReader(DataViewRowCursor cursor, DataViewSchema.Column column, TorchMlpTask task, ulong classCount)
    {
        switch (task)
        {
            case TorchMlpTask.Regression:
            {
                var get = cursor.GetGetter<float>(column);
                return row =>
                {
                    float v = 0;
                    get(ref v);
                    if (!float.IsFinite(v))
                        throw new InvalidOperationException($"Label column '{column.Name}' has {v.ToString(System.Globalization.CultureInfo.InvariantCulture)} at row {row}: TorchMlp regression needs finite labels (filter the rows, e.g. mlContext.Data.FilterRowsByMissingValues).");
                    return v;
                };
            }
            case TorchMlpTask.BinaryClassification:
            {
                var get = cursor.GetGetter<bool>(column);
                return _ =>
                {
                    var v = false;
                    get(ref v);
                    return v ? 1f : 0f;
                };
            }
            default:
            {
                var get = KeyGetter(cursor, column);
                return row =>
                {
                    var key = get();
                    if (key == 0 || key > classCount)
                        throw new InvalidOperationException(
                            $"Label column '{column.Name}' has a missing key value at row {row}: every training row needs one of the {classCount} classes (filter the rows or map unknown labels to a class).");
                    return key - 1;
                };
            }
        }
    }

    private static Func<ulong> KeyGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var raw = column.Type.RawType;
        if (raw == typeof(uint)) { var g = cursor.GetGetter<uint>(column); return () => { uint v = 0; g(ref v); return v; }; }
        if (raw == typeof(ulong)) { var g = cursor.GetGetter<ulong>(column); return () => { ulong v = 0; g(ref v); return v; }; }
        if (raw == typeof(ushort)) { var g = cursor.GetGetter<ushort>(column); return () => { ushort v = 0; g(ref v); return v; }; }
        if (raw == typeof(byte)) { var g = cursor.GetGetter<byte>(column); return () => { byte v = 0; g(ref v); return v; }; }
        throw new ArgumentOutOfRangeException("inputSchema", $"Label column '{column.Name}' has key type {column.Type} with an unsupported raw type {raw.Name}.");
    }
}
