using System.Text.Json;
using System.Text.Json.Serialization;
using GradientHooks.Clipping;
using GradientHooks.Diagnostics;

namespace GradientHooks.Reporting;

/// <summary>
/// The run log written by <see cref="JsonLinesSink"/> and read by <c>RunLog</c>: JSON Lines, one object a line,
/// each with a <c>"type"</c>:
/// <list type="bullet">
/// <item><c>"run"</c>, first: the format version, the library version, the monitor's options and its parameters;</item>
/// <item><c>"step"</c>, one per captured step: everything the diagnosis reads of a <see cref="StepRecord"/> (per-parameter
/// statistics as arrays [count, Σg, Σg², max |g|, non-finite, zeros], ‖Δw‖ and ‖w‖ per parameter, units, activations,
/// output gradients, loss, clipping, the origin of a NaN, a rollback, the layer order when it changes, zero_grad seen,
/// the loss scale);</item>
/// <item><c>"profile"</c>: the model's <see cref="ModelProfile"/> (written after the first step and when the sink is
/// disposed; the last one counts).</item>
/// </list>
/// Numbers are written so that they read back bit for bit (shortest round-trip form; NaN and ±Infinity as strings).
/// </summary>
internal static class RunLogFormat
{
    /// <summary>The format version; a log of another version is refused.</summary>
    public const int Version = 1;

    public static JsonSerializerOptions Json => Capture.StepRecordJson.Json;

    public static void WriteHeader(Utf8JsonWriter w, GradientMonitor monitor)
    {
        w.WriteStartObject();
        w.WriteString("type", "run");
        w.WriteNumber("format", Version);
        w.WriteString("library", Library);
        w.WriteString("started", DateTimeOffset.UtcNow.ToString("O"));
        w.WritePropertyName("options");
        JsonSerializer.Serialize(w, monitor.Options, Json);
        w.WritePropertyName("parameters");
        JsonSerializer.Serialize(w, monitor.Parameters, Json);
        w.WriteEndObject();
    }

    /// <summary>The library's version, as its assembly says.</summary>
    public static string Library => typeof(GradientMonitor).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    public static void WriteProfile(Utf8JsonWriter w, ModelProfile profile)
    {
        w.WriteStartObject();
        w.WriteString("type", "profile");
        w.WritePropertyName("profile");
        JsonSerializer.Serialize(w, profile, Json);
        w.WriteEndObject();
    }

    public static void WriteStep(Utf8JsonWriter w, StepRecord r, bool withOrder) => Capture.StepRecordJson.Write(w, r, withOrder);

    /// <summary>A step line back into a record; <paramref name="order"/> carries the last layer order seen.</summary>
    public static StepRecord ReadStep(JsonElement e, IReadOnlyList<ParameterInfo> parameters, ref LayerOrder? order) => Capture.StepRecordJson.Read(e, parameters, ref order);

    public static ModelProfile ReadProfile(JsonElement e) => e.GetProperty("profile").Deserialize<ModelProfile>(Json)!;
}
