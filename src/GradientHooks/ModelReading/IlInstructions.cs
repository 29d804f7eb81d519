using System.Reflection;
using System.Reflection.Emit;

namespace GradientHooks.ModelReading;

/// <summary>One decoded IL instruction: its opcode and where its operand starts in the method body.</summary>
/// <param name="Offset">Byte offset of the instruction.</param>
/// <param name="OpCode">The opcode.</param>
/// <param name="OperandAt">Byte offset of the operand (the end of the opcode).</param>
internal readonly record struct IlInstruction(int Offset, OpCode OpCode, int OperandAt);

/// <summary>
/// Decodes a method body's IL into instructions with the operand size of every opcode (ECMA-335 partition III), so
/// that readers of <c>forward()</c> (<see cref="ForwardScanner"/>, <see cref="ForwardFlow"/>) can resolve the
/// methods and fields it uses. Stops at an opcode it does not know rather than guessing a size.
/// </summary>
internal static class IlInstructions
{
    private static readonly Dictionary<short, OpCode> OneByte = new();
    private static readonly Dictionary<short, OpCode> TwoByte = new();

    static IlInstructions()
    {
        foreach (var f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)f.GetValue(null)!;
            if (op.Size == 1) OneByte[op.Value] = op; else TwoByte[unchecked((short)(op.Value & 0xFF))] = op;
        }
    }

    /// <summary>The method's IL, or null when it has none that can be read (abstract, native, dynamic).</summary>
    public static byte[]? Body(MethodBase method)
    {
        try { return method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException) { return null; }
    }

    /// <summary>The instructions of <paramref name="il"/>, in order.</summary>
    public static IEnumerable<IlInstruction> Decode(byte[] il)
    {
        int at = 0;
        while (at < il.Length)
        {
            int start = at;
            OpCode op;
            if (il[at] == 0xFE && at + 1 < il.Length) { if (!TwoByte.TryGetValue(il[at + 1], out op)) yield break; at += 2; }
            else { if (!OneByte.TryGetValue(il[at], out op)) yield break; at += 1; }
            yield return new IlInstruction(start, op, at);
            at += OperandSize(op, il, at);
        }
    }

    /// <summary>The 4-byte metadata token or integer operand at <paramref name="at"/>.</summary>
    public static int Int32(byte[] il, int at) => at + 4 <= il.Length ? BitConverter.ToInt32(il, at) : 0;

    /// <summary>The local variable index of a <c>ldloc</c>/<c>stloc</c>/<c>ldloca</c> family instruction, or -1 for another opcode.</summary>
    public static int LocalIndex(IlInstruction ins, byte[] il)
    {
        var op = ins.OpCode;
        if (op == OpCodes.Ldloc_0 || op == OpCodes.Stloc_0) return 0;
        if (op == OpCodes.Ldloc_1 || op == OpCodes.Stloc_1) return 1;
        if (op == OpCodes.Ldloc_2 || op == OpCodes.Stloc_2) return 2;
        if (op == OpCodes.Ldloc_3 || op == OpCodes.Stloc_3) return 3;
        if (op == OpCodes.Ldloc_S || op == OpCodes.Stloc_S || op == OpCodes.Ldloca_S) return ins.OperandAt < il.Length ? il[ins.OperandAt] : -1;
        if (op == OpCodes.Ldloc || op == OpCodes.Stloc || op == OpCodes.Ldloca) return ins.OperandAt + 2 <= il.Length ? BitConverter.ToUInt16(il, ins.OperandAt) : -1;
        return -1;
    }

    /// <summary>The method a <c>call</c>, <c>callvirt</c> or <c>newobj</c> at <paramref name="ins"/> names, or null when it cannot be resolved.</summary>
    public static MethodBase? Method(MethodBase owner, IlInstruction ins, byte[] il)
    {
        try { return owner.Module.ResolveMethod(Int32(il, ins.OperandAt), GenericTypeArguments(owner), GenericMethodArguments(owner)); }
        catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException or FileNotFoundException or MissingMethodException) { return null; }
    }

    /// <summary>The field a <c>ldfld</c>/<c>ldflda</c>/<c>stfld</c> at <paramref name="ins"/> names, or null.</summary>
    public static FieldInfo? Field(MethodBase owner, IlInstruction ins, byte[] il)
    {
        try { return owner.Module.ResolveField(Int32(il, ins.OperandAt), GenericTypeArguments(owner), GenericMethodArguments(owner)); }
        catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException or FileNotFoundException or MissingFieldException) { return null; }
    }

    private static Type[]? GenericTypeArguments(MethodBase m) => m.DeclaringType?.GetGenericArguments();

    private static Type[]? GenericMethodArguments(MethodBase m) => m.IsGenericMethod ? m.GetGenericArguments() : null;

    private static int OperandSize(OpCode op, byte[] il, int at) => op.OperandType switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + 4 * Int32(il, at),
        _ => 4,
    };
}
