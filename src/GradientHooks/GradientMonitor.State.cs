using System.Text;
using System.Text.Json;
using GradientHooks.Capture;

namespace GradientHooks;

/// <summary>The monitor's part of a <see cref="Checkpoint"/>.</summary>
public sealed partial class GradientMonitor
{
    /// <summary>
    /// Writes what the monitor has learned from the run: the step counter and count of full captures, the history (each
    /// record as the run log writes it, bit for bit), the layer order and the model's profile (the input's scale), whether
    /// the first-steps probe is done, every unit layer's dead-unit streaks, which activation hooks have fired, and whether
    /// the NaN tracer's hooks are on.
    /// </summary>
    /// <exception cref="InvalidOperationException">A capture is waiting for <c>optimizer.step()</c>.</exception>
    internal void WriteState(BinaryWriter writer)
    {
        ThrowIfDisposed();
        if (_pending != null)
            throw new InvalidOperationException("A capture is waiting for optimizer.step(): save the checkpoint after the step, not between Capture and step.");
        writer.Write(_step);
        writer.Write(_fullSteps);
        writer.Write(_history.Count);
        foreach (var r in _history) writer.Write(Json(w => StepRecordJson.Write(w, r, withOrder: true)));
        writer.Write(_order is null ? "" : JsonSerializer.Serialize(_order, StepRecordJson.Json));
        writer.Write(JsonSerializer.Serialize(_profile, StepRecordJson.Json));
        writer.Write(_firstForward is null);
        writer.Write(_units.Length);
        foreach (var u in _units) u.Write(writer);
        var fired = _activations?.FiredPaths ?? new HashSet<string>();
        writer.Write(fired.Count);
        foreach (var f in fired.Order(StringComparer.Ordinal)) writer.Write(f);
        writer.Write(_tracer is not null);
        _tracer?.Write(writer);
        writer.Write(_noise is not null);
        _noise?.Write(writer);
    }

    /// <summary>Reads what <see cref="WriteState"/> wrote, into a monitor attached to the same model with the same options.</summary>
    internal void ReadState(BinaryReader reader)
    {
        ThrowIfDisposed();
        long step = reader.ReadInt64(), fullSteps = reader.ReadInt64();
        int count = reader.ReadInt32();
        if (count < 0 || count > Options.HistoryLength) throw new InvalidDataException($"the checkpoint's history holds {count} steps; this monitor keeps {Options.HistoryLength}.");
        var records = new List<StepRecord>(count);
        LayerOrder? recordOrder = null;
        for (int i = 0; i < count; i++)
        {
            using var doc = JsonDocument.Parse(reader.ReadString());
            records.Add(StepRecordJson.Read(doc.RootElement, Parameters, ref recordOrder));
        }
        var orderJson = reader.ReadString();
        var order = orderJson.Length == 0 ? null : JsonSerializer.Deserialize<LayerOrder>(orderJson, StepRecordJson.Json);
        var profile = JsonSerializer.Deserialize<Diagnostics.ModelProfile>(reader.ReadString(), StepRecordJson.Json)!;
        bool probeDone = reader.ReadBoolean();
        if (order is not null) SetOrder(order);   // sorts the unit layers as they were saved
        int units = reader.ReadInt32();
        if (units != _units.Length) throw new InvalidDataException($"the checkpoint has {units} unit layers; this model has {_units.Length}.");
        foreach (var u in _units) u.Read(reader);
        int firedCount = reader.ReadInt32();
        var fired = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < firedCount; i++) fired.Add(reader.ReadString());
        if (reader.ReadBoolean() != (_tracer is not null)) throw new InvalidDataException("the checkpoint and this monitor disagree about tracing NaN to its origin.");
        _tracer?.Read(reader);
        if (reader.ReadBoolean() != (_noise is not null)) throw new InvalidDataException("the checkpoint and this monitor disagree about tracking the gradient noise scale (MonitorOptions.TrackNoiseScale).");
        _noise?.Read(reader);

        _step = step;
        _fullSteps = fullSteps;
        _history.Clear();
        foreach (var r in records) _history.Add(r);
        _profile = profile;
        if (probeDone && _firstForward != null) { _firstForward.Dispose(); _firstForward = null; }
        _activations?.MarkFired(fired);
        if (_activations != null) _activations.Armed = IsFullStep(_step + 1);
        if (_outputs != null) _outputs.Armed = IsFullStep(_step + 1);
        _pending = null;
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
