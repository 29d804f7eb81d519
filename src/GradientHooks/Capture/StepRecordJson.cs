using System.Text.Json;
using System.Text.Json.Serialization;
using GradientHooks.Clipping;

namespace GradientHooks.Capture;

/// <summary>
/// A <see cref="StepRecord"/> as one JSON object, and back, bit for bit: everything the diagnosis reads (per-parameter
/// statistics as arrays [count, Σg, Σg², max |g|, non-finite, zeros], ‖Δw‖ and ‖w‖ per parameter, units, activations,
/// output gradients, loss, clipping, the origin of a NaN, a rollback, the layer order when it changes, zero_grad seen,
/// the loss scale). Numbers in their shortest round-trip form; NaN and ±Infinity as strings. Used by the run log
/// (GradientHooks.Reporting) and by checkpoints (the monitor's history).
/// </summary>
internal static class StepRecordJson
{
    public static readonly JsonSerializerOptions Json = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(), new LayerOrderConverter() },
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        IgnoreReadOnlyProperties = true,
    };

    public static void Write(Utf8JsonWriter w, StepRecord r, bool withOrder)
    {
        w.WriteStartObject();
        w.WriteString("type", "step");
        w.WriteNumber("step", r.Step);
        Number(w, "loss", r.Loss);
        w.WriteString("time", r.Time.ToString("O"));
        if (r.IsFull)
        {
            w.WriteStartArray("g");
            foreach (var g in r.Gradients)
            {
                w.WriteStartArray();
                w.WriteNumberValue(g.Count);
                Value(w, g.Sum);
                Value(w, g.SumOfSquares);
                Value(w, g.MaxAbs);
                w.WriteNumberValue(g.NonFiniteCount);
                w.WriteNumberValue(g.ZeroCount);
                w.WriteEndArray();
            }
            w.WriteEndArray();
        }
        if (r.CheckedFinite) w.WriteBoolean("checkedFinite", true);
        Strings(w, "nonFinite", r.NonFiniteParameters);
        Strings(w, "missing", r.MissingGradients);
        Object(w, "units", r.Units);
        Object(w, "activations", r.Activations);
        Object(w, "outputGradients", r.OutputGradients.Select(o => new { o.Name, g = new[] { o.Gradient.Count, o.Gradient.Sum, o.Gradient.SumOfSquares, o.Gradient.MaxAbs, o.Gradient.NonFiniteCount, o.Gradient.ZeroCount }, o.BackwardOrder }).ToList());
        if (r.UpdateNorms is { } norms)
        {
            w.WriteStartArray("update");
            foreach (var (delta, weight) in norms) { w.WriteStartArray(); Value(w, delta); Value(w, weight); w.WriteEndArray(); }
            w.WriteEndArray();
        }
        if (r.Clipping is { } c) { w.WritePropertyName("clipping"); JsonSerializer.Serialize(w, c, Json); }
        if (r.Origin is { } o) { w.WritePropertyName("origin"); JsonSerializer.Serialize(w, o, Json); }
        if (r.Rollback is { } rb) { w.WritePropertyName("rollback"); JsonSerializer.Serialize(w, rb, Json); }
        if (r.ZeroGradCalled is bool z) w.WriteBoolean("zeroGradCalled", z);
        Number(w, "accumulationRatio", r.AccumulationRatio);
        Number(w, "lossScale", r.LossScale);
        if (r.BatchExamples is long examples) w.WriteNumber("batchExamples", examples);
        if (r.MicroBatches is int micro) w.WriteNumber("microBatches", micro);
        if (r.Noise is { } noise)
        {
            w.WriteStartArray("noise");
            foreach (var n in r.LayerNoise.Prepend(noise)) { w.WriteStartArray(); w.WriteStringValue(n.Layer); Value(w, n.GradientSquaredNorm); Value(w, n.NoiseTrace); w.WriteEndArray(); }
            w.WriteEndArray();
        }
        if (withOrder && r.LayerOrder is { } order) { w.WritePropertyName("layerOrder"); JsonSerializer.Serialize(w, order, Json); }
        w.WriteEndObject();
    }

    /// <summary>A step line back into a record; <paramref name="order"/> carries the last layer order seen.</summary>
    public static StepRecord Read(JsonElement e, IReadOnlyList<ParameterInfo> parameters, ref LayerOrder? order)
    {
        if (e.TryGetProperty("layerOrder", out var lo)) order = lo.Deserialize<LayerOrder>(Json);
        var gradients = e.TryGetProperty("g", out var g)
            ? g.EnumerateArray().Select(Stats).ToArray()
            : Array.Empty<GradientStats>();
        if (gradients.Length != 0 && gradients.Length != parameters.Count)
            throw new InvalidDataException($"step {e.GetProperty("step").GetInt64()} has statistics for {gradients.Length} parameters; the run has {parameters.Count}");
        var r = new StepRecord(e.GetProperty("step").GetInt64(), NullableNumber(e, "loss"), gradients, parameters)
        {
            Time = DateTimeOffset.Parse(e.GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            LayerOrder = order,
            CheckedFinite = e.TryGetProperty("checkedFinite", out var cf) && cf.GetBoolean(),
            NonFiniteParameters = StringList(e, "nonFinite"),
            MissingGradients = StringList(e, "missing"),
            Units = List<UnitStats>(e, "units"),
            Activations = List<ActivationStats>(e, "activations"),
            OutputGradients = e.TryGetProperty("outputGradients", out var og)
                ? og.EnumerateArray().Select(x => new OutputGradient(x.GetProperty("name").GetString()!, Stats(x.GetProperty("g")), x.GetProperty("backwardOrder").GetInt32())).ToArray()
                : Array.Empty<OutputGradient>(),
            Origin = e.TryGetProperty("origin", out var or) ? or.Deserialize<NonFiniteOrigin>(Json) : null,
        };
        if (e.TryGetProperty("update", out var u))
            r.SetUpdateNorms(u.EnumerateArray().Select(p => (Double(p[0]), Double(p[1]))).ToArray());
        if (e.TryGetProperty("clipping", out var c)) r.Clipping = c.Deserialize<ClipResult>(Json);
        if (e.TryGetProperty("rollback", out var rb)) r.Rollback = rb.Deserialize<RollbackEvent>(Json);
        if (e.TryGetProperty("zeroGradCalled", out var z)) r.ZeroGradCalled = z.GetBoolean();
        r.AccumulationRatio = NullableNumber(e, "accumulationRatio");
        r.LossScale = NullableNumber(e, "lossScale");
        if (e.TryGetProperty("batchExamples", out var be)) r.BatchExamples = be.GetInt64();
        if (e.TryGetProperty("microBatches", out var mb)) r.MicroBatches = mb.GetInt32();
        if (e.TryGetProperty("noise", out var ns))
        {
            var all = ns.EnumerateArray().Select(n => new NoiseScaleStats(n[0].GetString()!, Double(n[1]), Double(n[2]))).ToList();
            r.Noise = all[0];
            r.LayerNoise = all.Skip(1).ToArray();
        }
        return r;
    }

    private static GradientStats Stats(JsonElement a) =>
        new((long)Double(a[0]), Double(a[1]), Double(a[2]), Double(a[3]), (long)Double(a[4]), (long)Double(a[5]));

    private static double Double(JsonElement x) => x.ValueKind == JsonValueKind.String
        ? x.GetString() switch { "NaN" => double.NaN, "Infinity" => double.PositiveInfinity, "-Infinity" => double.NegativeInfinity, var s => throw new InvalidDataException($"'{s}' is not a number") }
        : x.GetDouble();

    private static double? NullableNumber(JsonElement e, string name) =>
        e.TryGetProperty(name, out var x) && x.ValueKind != JsonValueKind.Null ? Double(x) : null;

    private static IReadOnlyList<string> StringList(JsonElement e, string name) =>
        e.TryGetProperty(name, out var x) ? x.EnumerateArray().Select(s => s.GetString()!).ToArray() : Array.Empty<string>();

    private static IReadOnlyList<T> List<T>(JsonElement e, string name) =>
        e.TryGetProperty(name, out var x) ? x.Deserialize<T[]>(Json)! : Array.Empty<T>();

    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is not double v) return;
        w.WritePropertyName(name);
        Value(w, v);
    }

    private static void Value(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v)) w.WriteNumberValue(v);
        else w.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    private static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        if (values.Count == 0) return;
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void Object<T>(Utf8JsonWriter w, string name, IReadOnlyList<T> values)
    {
        if (values.Count == 0) return;
        w.WritePropertyName(name);
        JsonSerializer.Serialize(w, values, Json);
    }

    /// <summary><see cref="LayerOrder"/> as <c>{ "layers": [...], "source": "Hooks" }</c>.</summary>
    private sealed class LayerOrderConverter : JsonConverter<LayerOrder>
    {
        public override LayerOrder Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var doc = JsonDocument.ParseValue(ref reader);
            var e = doc.RootElement;
            return new LayerOrder(e.GetProperty("layers").EnumerateArray().Select(x => x.GetString()!).ToList(), Enum.Parse<LayerOrderSource>(e.GetProperty("source").GetString()!));
        }

        public override void Write(Utf8JsonWriter writer, LayerOrder value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteStartArray("layers");
            foreach (var l in value.Layers) writer.WriteStringValue(l);
            writer.WriteEndArray();
            writer.WriteString("source", value.Source.ToString());
            writer.WriteEndObject();
        }
    }
}
