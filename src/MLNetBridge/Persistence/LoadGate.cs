namespace GradientHooks.MLNet.Persistence;

/// <summary>
/// Per-thread flags telling the TorchMlp pieces whether ML.NET is saving or loading through our helpers
/// (<see cref="TorchMlpModelOperations"/>): only then may a TorchMlp step be written as a stateless custom mapping
/// (its network goes into the same file as an extra entry) or loaded as a placeholder (replaced right after).
/// </summary>
internal static class LoadGate
{
    [ThreadStatic] private static List<TorchMlpTransformer>? _saving;
    [ThreadStatic] private static bool _loading;

    public const string Advice =
        "A GradientHooks TorchMlp network is not stored by ML.NET's model format: save the model with " +
        "mlContext.Model.SaveTorchMlp(model, inputSchema, path) and load it with mlContext.Model.LoadTorchMlp(path, out var inputSchema) " +
        "(namespace GradientHooks.MLNet); both write and read one ordinary ML.NET .zip with the network inside.";

    public static List<TorchMlpTransformer>? Saving => _saving;

    public static IDisposable BeginSave(List<TorchMlpTransformer> sink)
    {
        _saving = sink;
        return new Reset(() => _saving = null);
    }

    public static IDisposable BeginLoad()
    {
        _loading = true;
        return new Reset(() => _loading = false);
    }

    public static Action<TSrc, TDst> Placeholder<TSrc, TDst>()
    {
        if (!_loading) throw new InvalidOperationException(Advice);
        return (_, _) => throw new InvalidOperationException(Advice);
    }

    private sealed class Reset(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
