using static TorchSharp.torch;

namespace GradientHooks.Precision;

/// <summary>
/// The range of the floating-point formats gradients are held in (IEEE 754 binary16, bfloat16, binary32, binary64):
/// the smallest normal 2^(1−bias), the smallest subnormal 2^(1−bias−mantissa bits), the largest finite value. A gradient
/// element below the smallest subnormal in magnitude is stored as 0 (underflow); above the largest, as ±Inf (overflow).
/// </summary>
public static class FloatFormat
{
    /// <summary>True for float16 and bfloat16, the formats loss scaling and master weights are for.</summary>
    public static bool IsLowPrecision(ScalarType type) => type is ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary>Smallest positive normal number: float16 2⁻¹⁴ ≈ 6.1e-5, bfloat16 2⁻¹²⁶ ≈ 1.2e-38, float32 2⁻¹²⁶, float64 2⁻¹⁰²².</summary>
    public static double SmallestNormal(ScalarType type) => type switch
    {
        ScalarType.Float16 => Math.Pow(2, -14),
        ScalarType.BFloat16 or ScalarType.Float32 => Math.Pow(2, -126),
        _ => Math.Pow(2, -1022),
    };

    /// <summary>Smallest positive subnormal number: float16 2⁻²⁴ ≈ 6.0e-8, bfloat16 2⁻¹³³ ≈ 9.2e-41, float32 2⁻¹⁴⁹ ≈ 1.4e-45, float64 2⁻¹⁰⁷⁴.</summary>
    public static double SmallestSubnormal(ScalarType type) => type switch
    {
        ScalarType.Float16 => Math.Pow(2, -24),
        ScalarType.BFloat16 => Math.Pow(2, -133),
        ScalarType.Float32 => Math.Pow(2, -149),
        _ => double.Epsilon,
    };

    /// <summary>Largest finite number: float16 65504, bfloat16 ≈ 3.39e38, float32 ≈ 3.40e38, float64 ≈ 1.8e308.</summary>
    public static double Largest(ScalarType type) => type switch
    {
        ScalarType.Float16 => 65504,
        ScalarType.BFloat16 => 3.3895313892515355e38,
        ScalarType.Float32 => float.MaxValue,
        _ => double.MaxValue,
    };

    /// <summary>The value <paramref name="x"/> becomes when stored in <paramref name="type"/> by round-to-nearest: 0 when it underflows, for instance an optimizer's eps of 1e-8 in float16.</summary>
    public static double RoundTo(double x, ScalarType type) => type switch
    {
        ScalarType.Float16 => (double)(Half)x,
        ScalarType.BFloat16 => (double)(float)BFloat16Round((float)x),
        ScalarType.Float32 => (float)x,
        _ => x,
    };

    private static float BFloat16Round(float x)
    {
        if (float.IsNaN(x)) return x;
        uint bits = BitConverter.SingleToUInt32Bits(x);
        uint rounded = bits + 0x7FFF + ((bits >> 16) & 1);   // round to nearest even on the upper 16 bits
        return BitConverter.UInt32BitsToSingle(rounded & 0xFFFF0000);
    }
}
