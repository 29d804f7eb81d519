using GradientHooks.Checkpoints;
using GradientHooks.Precision;
using TorchSharp;

namespace GradientHooks;

/// <summary>The guard's part of a <see cref="Checkpoint"/>.</summary>
public sealed partial class GuardedOptimizer
{
    /// <summary>
    /// Writes the guard's own state: its counters and streaks, every parameter group's learning rate (rollback may have
    /// lowered it), the rollbacks so far, the rollback snapshot, the accumulation probe's copy, the loss scaler's state
    /// and the float32 master weights. The inner optimizer's state is TorchSharp's own and is written beside it.
    /// </summary>
    internal void WriteState(BinaryWriter writer)
    {
        writer.Write(SkippedSteps);
        writer.Write(ClippedSteps);
        writer.Write(_skipStreak);
        writer.Write(_appliedSinceSnapshot);
        writer.Write(_zeroGrads);
        writer.Write(_steps);
        var groups = Inner.ParamGroups.ToList();
        writer.Write(groups.Count);
        foreach (var g in groups) writer.Write(g.LearningRate);
        writer.Write(_rollbacks.Count);
        foreach (var r in _rollbacks)
        {
            writer.Write(r.Step);
            writer.Write(r.RestoredStep);
            writer.Write(r.Reason);
            writer.Write(r.LearningRateFactor);
        }
        writer.Write(_snapshot is not null);
        _snapshot?.Write(writer);
        _accumulation.Write(writer);
        writer.Write(LossScaler is not null);
        if (LossScaler is not null)
        {
            LossScaler.StateDict().Write(writer);
            writer.Write(LossScaler.Overflows);
        }
        writer.Write(MasterWeights is not null);
        if (MasterWeights is not null)
            for (int i = 0; i < MasterWeights.Parameters.Count; i++)
                TensorIO.Write(writer, MasterWeights.IsCopied(i) ? MasterWeights.Parameters[i] : null);
    }

    /// <summary>Reads what <see cref="WriteState"/> wrote, into a guard built the same way (the manifest checked that).</summary>
    internal void ReadState(BinaryReader reader)
    {
        SkippedSteps = reader.ReadInt64();
        ClippedSteps = reader.ReadInt64();
        _skipStreak = reader.ReadInt32();
        _appliedSinceSnapshot = reader.ReadInt32();
        _zeroGrads = reader.ReadInt32();
        _steps = reader.ReadInt64();
        var groups = Inner.ParamGroups.ToList();
        int n = reader.ReadInt32();
        if (n != groups.Count) throw new InvalidDataException($"{n} parameter groups in the checkpoint, {groups.Count} here.");
        foreach (var g in groups) g.LearningRate = reader.ReadDouble();
        int rollbacks = reader.ReadInt32();
        _rollbacks.Clear();
        for (int i = 0; i < rollbacks; i++) _rollbacks.Add(new RollbackEvent(reader.ReadInt64(), reader.ReadInt64(), reader.ReadString(), reader.ReadDouble()));
        bool snapshot = reader.ReadBoolean();
        if (snapshot != (_snapshot is not null)) throw new InvalidDataException("the checkpoint and this guard disagree about rollback.");
        _snapshot?.Read(reader);
        _accumulation.Read(reader);
        bool scaler = reader.ReadBoolean();
        if (scaler != (LossScaler is not null)) throw new InvalidDataException("the checkpoint and this guard disagree about a loss scaler.");
        if (LossScaler is not null)
        {
            LossScaler.LoadStateDict(LossScalerState.Read(reader));
            LossScaler.Overflows = reader.ReadInt64();
        }
        bool master = reader.ReadBoolean();
        if (master != (MasterWeights is not null)) throw new InvalidDataException("the checkpoint and this guard disagree about master weights.");
        if (MasterWeights is not null)
            for (int i = 0; i < MasterWeights.Parameters.Count; i++)
            {
                if (MasterWeights.IsCopied(i)) TensorIO.ReadInto(reader, MasterWeights.Parameters[i], $"master weight of {MasterWeights.Names[i]}");
                else if (reader.ReadBoolean()) throw new InvalidDataException($"{MasterWeights.Names[i]} has a float32 master in the checkpoint and is its own master here.");
            }
        LastStep = _monitor.History.Count > 0 ? _monitor.History[^1] : null;
    }
}
