using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GradientHooks.Guard;

/// <summary>
/// A copy of the trainable weights and of a managed optimizer's per-parameter state, on the tensors' own devices,
/// refreshed in place and restored in place (the live tensors keep their identity, so the optimizer, the monitor's
/// caches and the user's references stay valid). The optimizer state is reached through TorchSharp's own
/// <c>OptimizerHelper.state_dict()</c>, whose entries are the live <c>OptimizerState</c> objects; their public
/// tensor fields (Adam's <c>exp_avg</c>, <c>exp_avg_sq</c>, SGD's <c>momentum_buffer</c>...) and value fields
/// (<c>step</c>) are copied. Optimizer options (learning rates) are not part of a snapshot.
/// </summary>
internal sealed class TrainingSnapshot : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly OptimizerHelper _optimizer;
    private readonly Tensor[] _weights;
    private List<(object State, FieldInfo Field, object? Value)> _state = new();

    public TrainingSnapshot(Parameter[] parameters, OptimizerHelper optimizer)
    {
        _parameters = parameters;
        _optimizer = optimizer;
        _weights = new Tensor[parameters.Length];
    }

    /// <summary>The step after whose update the snapshot was taken (0 = at the guard's creation); -1 before the first.</summary>
    public long Step { get; private set; } = -1;

    /// <summary>Takes a snapshot when every weight and state tensor is finite; returns false (keeping the old one) otherwise.</summary>
    public bool TryTake(long step)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var live = StateFields();
        var tensors = _parameters.Select(p => (Tensor)p).Concat(live.Select(f => f.Value).OfType<Tensor>()).ToList();
        if (!AllFinite(tensors)) return false;
        for (int i = 0; i < _parameters.Length; i++)
        {
            if (_weights[i] is null || !_weights[i].shape.SequenceEqual(_parameters[i].shape)) { _weights[i]?.Dispose(); _weights[i] = _parameters[i].detach().clone().DetachFromDisposeScope(); }
            else _weights[i].copy_(_parameters[i]);
        }
        var old = _state;
        _state = new List<(object, FieldInfo, object?)>(live.Count);
        for (int k = 0; k < live.Count; k++)
        {
            var (state, field, value) = live[k];
            // The same state field at the same position keeps its copy, refreshed in place; any other copy is freed.
            var previous = k < old.Count && ReferenceEquals(old[k].State, state) && old[k].Field == field ? old[k].Value as Tensor : null;
            if (k < old.Count && old[k].Value is Tensor stale && !ReferenceEquals(stale, previous)) stale.Dispose();
            object? copy = value;
            if (value is Tensor t)
            {
                if (previous is not null && previous.shape.SequenceEqual(t.shape) && previous.dtype == t.dtype) { previous.copy_(t); copy = previous; }
                else { previous?.Dispose(); copy = t.detach().clone().DetachFromDisposeScope(); }
            }
            else previous?.Dispose();
            _state.Add((state, field, copy));
        }
        for (int k = live.Count; k < old.Count; k++) (old[k].Value as Tensor)?.Dispose();
        Step = step;
        return true;
    }

    /// <summary>True when any optimizer state tensor holds NaN/Inf (one transfer; the weights are the monitor's to check).</summary>
    public bool OptimizerStateNonFinite()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return !AllFinite(StateFields().Select(f => f.Value).OfType<Tensor>().ToList());
    }

    /// <summary>Copies the snapshot back into the live weights and optimizer state.</summary>
    public void Restore()
    {
        if (Step < 0) throw new InvalidOperationException("No snapshot to restore.");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (int i = 0; i < _parameters.Length; i++) _parameters[i].copy_(_weights[i]);
        foreach (var (state, field, value) in _state)
        {
            if (value is Tensor saved)
            {
                if (field.GetValue(state) is Tensor current && current.shape.SequenceEqual(saved.shape) && current.dtype == saved.dtype) current.copy_(saved);
                else field.SetValue(state, saved.clone().DetachFromDisposeScope());
            }
            else
            {
                if (value is null && field.GetValue(state) is Tensor created) created.Dispose();   // made after the snapshot
                field.SetValue(state, value);
            }
        }
    }

    private List<(object State, FieldInfo Field, object? Value)> StateFields()
    {
        var list = new List<(object, FieldInfo, object?)>();
        foreach (var state in _optimizer.state_dict().State)
            foreach (var field in state.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public))
                if (field.FieldType == typeof(Tensor) || field.FieldType.IsValueType)
                    list.Add((state, field, field.GetValue(state)));
        return list;
    }

    private static bool AllFinite(IReadOnlyList<Tensor> tensors)
    {
        var flags = tensors.Where(t => t.is_floating_point() && t.numel() > 0).Select(t => torch.isfinite(t).all().to(torch.CPU)).ToArray();
        return flags.Length == 0 || torch.stack(flags).all().item<bool>();
    }

    /// <summary>
    /// Writes the snapshot (a checkpoint): its step, every weight, and every optimizer state field by position with its
    /// name (a tensor, none, or a number).
    /// </summary>
    public void Write(BinaryWriter writer)
    {
        writer.Write(Step);
        writer.Write(_weights.Length);
        foreach (var w in _weights) Checkpoints.TensorIO.Write(writer, w);
        writer.Write(_state.Count);
        foreach (var (_, field, value) in _state)
        {
            writer.Write(field.Name);
            switch (value)
            {
                case Tensor t: writer.Write((byte)1); Checkpoints.TensorIO.Write(writer, t); break;
                case null: writer.Write((byte)0); break;
                case long l: writer.Write((byte)2); writer.Write(l); break;
                case int i: writer.Write((byte)3); writer.Write(i); break;
                case double d: writer.Write((byte)4); writer.Write(d); break;
                case float f: writer.Write((byte)5); writer.Write(f); break;
                case bool b: writer.Write((byte)6); writer.Write(b); break;
                default: throw new NotSupportedException($"optimizer state field {field.Name} holds a {value.GetType().Name}, which a checkpoint cannot write.");
            }
        }
    }

    /// <summary>
    /// Reads what <see cref="Write"/> wrote into this snapshot, pairing the saved state fields with this optimizer's, by
    /// position and name (the same optimizer type over the same parameters lists them in the same order).
    /// </summary>
    public void Read(BinaryReader reader)
    {
        long step = reader.ReadInt64();
        int weights = reader.ReadInt32();
        if (weights != _weights.Length) throw new InvalidDataException($"the rollback snapshot holds {weights} weights; this guard keeps {_weights.Length}.");
        var loaded = new Tensor[weights];
        for (int i = 0; i < weights; i++)
            loaded[i] = Checkpoints.TensorIO.Read(reader, _parameters[i].device)?.DetachFromDisposeScope()
                ?? throw new InvalidDataException($"the rollback snapshot has no copy of weight {i}.");
        var live = StateFields();
        int count = reader.ReadInt32();
        if (count != live.Count) throw new InvalidDataException($"the rollback snapshot holds {count} optimizer state fields; this optimizer has {live.Count} now (was it saved at the same point of training?).");
        var state = new List<(object, FieldInfo, object?)>(count);
        for (int k = 0; k < count; k++)
        {
            var name = reader.ReadString();
            var (owner, field, _) = live[k];
            if (name != field.Name) throw new InvalidDataException($"optimizer state field {k} is {name} in the checkpoint, {field.Name} here.");
            // Every arm boxed to object: TorchSharp's implicit scalar-to-Tensor conversions would otherwise make Tensor
            // the switch's type and turn a saved step count into a tensor.
            object? value = reader.ReadByte() switch
            {
                1 => (object?)Checkpoints.TensorIO.Read(reader, _parameters.Length > 0 ? _parameters[0].device : torch.CPU)?.DetachFromDisposeScope(),
                0 => (object?)null,
                2 => (object)reader.ReadInt64(),
                3 => (object)reader.ReadInt32(),
                4 => (object)reader.ReadDouble(),
                5 => (object)reader.ReadSingle(),
                6 => (object)reader.ReadBoolean(),
                var kind => throw new InvalidDataException($"optimizer state field {name} has unknown kind {kind}."),
            };
            state.Add((owner, field, value));
        }
        Dispose();
        for (int i = 0; i < weights; i++) _weights[i] = loaded[i];
        _state = state;
        Step = step;
    }

    public void Dispose()
    {
        foreach (var w in _weights) w?.Dispose();
        foreach (var (_, _, value) in _state) (value as Tensor)?.Dispose();
        _state.Clear();
    }
}
