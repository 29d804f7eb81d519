using System.Globalization;
using GradientHooks.Diagnostics;

namespace GradientHooks.MLNet.Training;

/// <summary>
/// Restates the monitor's remedies as <see cref="TorchMlpOptions"/> changes: an ML.NET user sets options, never
/// touches the network. The profile has already left out what is in place (He initialisation, BatchNorm); the guard
/// of every TorchMlp skips non-finite steps, so that remedy is dropped, as are hook-related ones (the network calls
/// its modules through <c>.call()</c>).
/// </summary>
internal static class TorchMlpRemedies
{
    public static Diagnosis Restate(Diagnosis diagnosis, TorchMlpOptions o, double learningRate) => diagnosis.WithRemedies((_, r) => r.Kind switch
    {
        RemedyKind.HeInit => Option(r, "He initialization", "TorchMlpOptions.Init = InitScheme.HeNormal (std √(2/fan_in) keeps ReLU activations' variance constant)"),
        RemedyKind.XavierInit => Option(r, "Xavier initialization", "TorchMlpOptions.Init = InitScheme.XavierNormal (for Tanh/Sigmoid activations)"),
        RemedyKind.SwapToRelu => Option(r, "Non-saturating activation", "TorchMlpOptions.Activation = Activation.ReLU, with Init = InitScheme.HeNormal"),
        RemedyKind.SwapToLeakyRelu => Option(r, "LeakyReLU", "TorchMlpOptions.Activation = Activation.LeakyReLU (a negative slope keeps gradient flowing through units that would be dead)"),
        RemedyKind.BatchNorm => Option(r, "Batch normalization", "TorchMlpOptions.BatchNorm = true (BatchNorm1d before each hidden activation)"),
        RemedyKind.GlobalNormClipping => Option(r, r.Title, o.Clipping is null
            ? "TorchMlpOptions.Clipping = Clip.GlobalNorm(1.0) (rescales the whole gradient when its norm exceeds 1)"
            : $"TorchMlpOptions.Clipping is {o.Clipping}; lower its limit, or the learning rate"),
        RemedyKind.LowerLearningRate => Option(r, "Lower learning rate", $"TorchMlpOptions.LearningRate = {Number(learningRate / 10)} (now {Number(learningRate)})"),
        RemedyKind.RaiseLearningRate => Option(r, "Check the learning rate", $"TorchMlpOptions.LearningRate = {Number(learningRate * 3)} (now {Number(learningRate)}), or more Epochs"),
        RemedyKind.CheckInputs => Option(r, "Check the features", "NaN often starts in the data: mlContext.Transforms.ReplaceMissingValues, or filter the rows, before the trainer"),
        RemedyKind.SkipNonFinite or RemedyKind.CallModules or RemedyKind.Rollback => null,   // the trainer has no rollback option
        _ => r,
    });

    private static Remedy Option(Remedy original, string title, string detail) => new(title, detail) { Kind = original.Kind };

    private static string Number(double v) => v.ToString("G3", CultureInfo.InvariantCulture);
}
