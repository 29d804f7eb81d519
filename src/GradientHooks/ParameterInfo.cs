namespace GradientHooks;

/// <summary>A trainable parameter as the monitor sees it.</summary>
/// <param name="Name">Full name from <c>named_parameters()</c>, e.g. <c>fc1.weight</c>.</param>
/// <param name="Layer">Path of the module that owns it, e.g. <c>fc1</c> or <c>encoder.0</c>; <c>(model)</c> for the root.</param>
/// <param name="Shape">Shape of the parameter.</param>
/// <param name="Count">Number of elements.</param>
public sealed record ParameterInfo(string Name, string Layer, long[] Shape, long Count)
{
    /// <summary>The layer name used for parameters that belong to the root module itself.</summary>
    public const string RootLayer = "(model)";

    /// <summary>The owning module's path: everything before the last dot of <paramref name="parameterName"/>.</summary>
    public static string LayerOf(string parameterName)
    {
        ArgumentNullException.ThrowIfNull(parameterName);
        int dot = parameterName.LastIndexOf('.');
        return dot <= 0 ? RootLayer : parameterName[..dot];
    }

    /// <summary>The parameter's element type when the monitor attached (float16 and bfloat16 models: see <c>GradientHooks.Precision</c>).</summary>
    public TorchSharp.torch.ScalarType DType { get; init; } = TorchSharp.torch.ScalarType.Float32;

    /// <summary>Shape as text, e.g. <c>[512, 784]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
