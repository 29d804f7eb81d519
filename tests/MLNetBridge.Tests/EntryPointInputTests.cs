using Microsoft.ML;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>Null and empty arguments to the transformer and the save/load helpers name the argument.</summary>
public sealed class EntryPointInputTests
{
    private static readonly MLContext Ml = new(1);
    private static readonly Lazy<TorchMlpTransformer> Model = new(() => Ml.Regression.Trainers.TorchMlp(epochs: 1, seed: 1).Fit(Synthetic.Regression(Ml, 64)));

    public static TheoryData<string> Names => new(Cases.Keys);

    private static readonly Dictionary<string, (Type Exception, string Param, Action Act)> Cases = new()
    {
        ["Transform(null)"] = (typeof(ArgumentNullException), "input", () => Model.Value.Transform(null!)),
        ["GetOutputSchema(null)"] = (typeof(ArgumentNullException), "inputSchema", () => Model.Value.GetOutputSchema(null!)),
        ["GetRowToRowMapper(null)"] = (typeof(ArgumentNullException), "inputSchema", () => Model.Value.GetRowToRowMapper(null!)),
        ["SaveTorchMlp(null model)"] = (typeof(ArgumentNullException), "model", () => Ml.Model.SaveTorchMlp(null!, null, Path.GetTempFileName())),
        ["SaveTorchMlp(empty path)"] = (typeof(ArgumentException), "filePath", () => Ml.Model.SaveTorchMlp(Model.Value, null, " ")),
        ["SaveTorchMlp(null stream)"] = (typeof(ArgumentNullException), "stream", () => Ml.Model.SaveTorchMlp(Model.Value, null, (Stream)null!)),
        ["LoadTorchMlp(null path)"] = (typeof(ArgumentNullException), "filePath", () => Ml.Model.LoadTorchMlp((string)null!, out _)),
        ["LoadTorchMlp(null stream)"] = (typeof(ArgumentNullException), "stream", () => Ml.Model.LoadTorchMlp((Stream)null!, out _)),
        ["LoadTorchMlp(missing file)"] = (typeof(FileNotFoundException), "", () => Ml.Model.LoadTorchMlp("/nonexistent/model.zip", out _)),
        ["LoadTorchMlp(not a zip)"] = (typeof(InvalidDataException), "", () => Ml.Model.LoadTorchMlp(new MemoryStream(new byte[] { 1, 2, 3 }), out _)),
    };

    [Theory]
    [MemberData(nameof(Names))]
    public void Bad_arguments_name_themselves(string name)
    {
        var (type, param, act) = Cases[name];
        var e = Record.Exception(act);
        Assert.NotNull(e);
        Assert.IsAssignableFrom(type, e);
        if (e is ArgumentException a) Assert.Equal(param, a.ParamName);
    }
}
