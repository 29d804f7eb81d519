using Microsoft.ML;
using Microsoft.ML.Data;

namespace GradientHooks.MLNet.Scoring;

/// <summary>
/// The <c>KeyValues</c> annotation of a multiclass label (the class names), kept so that <c>PredictedLabel</c>
/// carries it too (<c>MapKeyToValue</c> then gives names back) and, for text names, <c>Score</c> gets them as
/// <c>SlotNames</c>, as ML.NET's own multiclass trainers do. Supported value types: Text, Single, Double, Int32,
/// UInt32, Int64, UInt64, Boolean; other types are dropped (the prediction stays a key without names).
/// </summary>
internal sealed class LabelKeyValues
{
    private const string KeyValuesKind = "KeyValues";
    private const string SlotNamesKind = "SlotNames";

    private LabelKeyValues(Kind kind, Array values)
    {
        ValueKind = kind;
        Values = values;
    }

    private enum Kind { Text, Single, Double, Int32, UInt32, Int64, UInt64, Boolean }

    private Kind ValueKind { get; }
    private Array Values { get; }
    public int Count => Values.Length;
    public bool IsText => ValueKind == Kind.Text;

    /// <summary>
    /// Default-valued names of the given item type, for an output shape, where only the presence and item type of
    /// the names matter (a following <c>MapKeyToValue</c> takes its output type from them); null if unsupported.
    /// </summary>
    public static LabelKeyValues? Placeholder(DataViewType itemType, int count) => KindOf(itemType) switch
    {
        null => null,
        Kind.Text => new(Kind.Text, Enumerable.Repeat("", count).ToArray()),
        var kind => new(kind.Value, Array.CreateInstance(itemType.RawType, count)),
    };

    /// <summary>The supported kind of an item type, or null.</summary>
    private static Kind? KindOf(DataViewType item) =>
        item is TextDataViewType ? Kind.Text
        : item is BooleanDataViewType ? Kind.Boolean
        : item == NumberDataViewType.Single ? Kind.Single
        : item == NumberDataViewType.Double ? Kind.Double
        : item == NumberDataViewType.Int32 ? Kind.Int32
        : item == NumberDataViewType.UInt32 ? Kind.UInt32
        : item == NumberDataViewType.Int64 ? Kind.Int64
        : item == NumberDataViewType.UInt64 ? Kind.UInt64
        : null;

    /// <summary>The label's key values, or null when it has none or of an unsupported type.</summary>
    public static LabelKeyValues? From(DataViewSchema.Column label)
    {
        var annotation = label.Annotations.Schema.GetColumnOrNull(KeyValuesKind);
        if (annotation is not { Type: VectorDataViewType vector }) return null;
        return KindOf(vector.ItemType) switch
        {
            Kind.Text => new(Kind.Text, Get<ReadOnlyMemory<char>>(label).Select(m => m.ToString()).ToArray()),
            Kind.Single => new(Kind.Single, Get<float>(label)),
            Kind.Double => new(Kind.Double, Get<double>(label)),
            Kind.Int32 => new(Kind.Int32, Get<int>(label)),
            Kind.UInt32 => new(Kind.UInt32, Get<uint>(label)),
            Kind.Int64 => new(Kind.Int64, Get<long>(label)),
            Kind.UInt64 => new(Kind.UInt64, Get<ulong>(label)),
            Kind.Boolean => new(Kind.Boolean, Get<bool>(label)),
            _ => null,
        };
    }

    /// <summary>Adds the values as <c>KeyValues</c> to <paramref name="predictedLabel"/> and, for text, as <c>SlotNames</c> to <paramref name="score"/>.</summary>
    public void AddTo(SchemaDefinition.Column predictedLabel, SchemaDefinition.Column score)
    {
        switch (ValueKind)
        {
            case Kind.Text:
                var text = new VBuffer<ReadOnlyMemory<char>>(Count, ((string[])Values).Select(s => s.AsMemory()).ToArray());
                var textType = new VectorDataViewType(TextDataViewType.Instance, Count);
                predictedLabel.AddAnnotation(KeyValuesKind, text, textType);
                score.AddAnnotation(SlotNamesKind, text, textType);
                break;
            case Kind.Single: Add<float>(predictedLabel, NumberDataViewType.Single); break;
            case Kind.Double: Add<double>(predictedLabel, NumberDataViewType.Double); break;
            case Kind.Int32: Add<int>(predictedLabel, NumberDataViewType.Int32); break;
            case Kind.UInt32: Add<uint>(predictedLabel, NumberDataViewType.UInt32); break;
            case Kind.Int64: Add<long>(predictedLabel, NumberDataViewType.Int64); break;
            case Kind.UInt64: Add<ulong>(predictedLabel, NumberDataViewType.UInt64); break;
            case Kind.Boolean: Add<bool>(predictedLabel, BooleanDataViewType.Instance); break;
        }
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write((int)ValueKind);
        writer.Write(Count);
        foreach (var value in Values)
        {
            switch (value)
            {
                case string s: writer.Write(s); break;
                case float f: writer.Write(f); break;
                case double d: writer.Write(d); break;
                case int i: writer.Write(i); break;
                case uint u: writer.Write(u); break;
                case long l: writer.Write(l); break;
                case ulong ul: writer.Write(ul); break;
                case bool b: writer.Write(b); break;
            }
        }
    }

    public static LabelKeyValues Read(BinaryReader reader)
    {
        var kind = (Kind)reader.ReadInt32();
        var count = reader.ReadInt32();
        if (!Enum.IsDefined(kind) || count < 0) throw new InvalidDataException($"malformed class names (kind {(int)kind}, count {count})");
        Array values = kind switch
        {
            Kind.Text => Fill(count, reader.ReadString),
            Kind.Single => Fill(count, reader.ReadSingle),
            Kind.Double => Fill(count, reader.ReadDouble),
            Kind.Int32 => Fill(count, reader.ReadInt32),
            Kind.UInt32 => Fill(count, reader.ReadUInt32),
            Kind.Int64 => Fill(count, reader.ReadInt64),
            Kind.UInt64 => Fill(count, reader.ReadUInt64),
            _ => Fill(count, reader.ReadBoolean),
        };
        return new LabelKeyValues(kind, values);
    }

    private void Add<T>(SchemaDefinition.Column column, PrimitiveDataViewType itemType) =>
        column.AddAnnotation(KeyValuesKind, new VBuffer<T>(Count, (T[])Values), new VectorDataViewType(itemType, Count));

    private static T[] Get<T>(DataViewSchema.Column label)
    {
        var buffer = default(VBuffer<T>);
        label.GetKeyValues(ref buffer);
        return buffer.DenseValues().ToArray();
    }

    private static T[] Fill<T>(int count, Func<T> read)
    {
        var values = new T[count];
        for (var i = 0; i < count; i++) values[i] = read();
        return values;
    }
}
