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
        RemedyKind.LowerLearningRate or RemedyKind.RaiseLearningRate when r.Rate is double rate => Option(r, r.Title, $"TorchMlpOptions.LearningRate = {Number(rate)} (now {Number(learningRate)}; the range test suggested it)"),
        RemedyKind.RangeTest => o.LearningRate == TorchMlpOptions.FindLearningRate ? null : Option(r, "Learning-rate range test", "TorchMlpOptions.LearningRate = TorchMlpOptions.FindLearningRate (a range test on the training rows picks the rate before the fit: LearningRateFinder, 100 steps from 1e-7 to 10)"),
        RemedyKind.BatchSize => Option(r, "Batch size near the noise scale", $"TorchMlpOptions.BatchSize = {r.Examples} ({r.Detail})"),
        RemedyKind.LowerLearningRate => Option(r, "Lower learning rate", $"TorchMlpOptions.LearningRate = {Number(learningRate / (r.Factor ?? 10))} (now {Number(learningRate)}{(r.Factor is double f ? $"; ÷{Number(f)} brings the update ratio near 1e-3" : "")})"),
        RemedyKind.RaiseLearningRate => Option(r, r.Factor is null ? "Check the learning rate" : "Raise learning rate", $"TorchMlpOptions.LearningRate = {Number(learningRate * (r.Factor ?? 3))} (now {Number(learningRate)}{(r.Factor is double g ? $"; ×{Number(g)} brings the update ratio near 1e-3" : "")}), or more Epochs"),
        RemedyKind.StandardizeInputs => Option(r, "Standardise the features", "mlContext.Transforms.NormalizeMeanVariance(\"Features\") before the trainer (mean 0, variance 1 per slot, fitted on the training data); for a regression label of large values, predict it in smaller units (divide it by a constant with a CustomMapping and multiply the Score back)"),
        RemedyKind.CheckInputs => Option(r, "Check the features", "NaN often starts in the data: mlContext.Transforms.ReplaceMissingValues, or filter the rows, before the trainer"),
        RemedyKind.SkipNonFinite or RemedyKind.CallModules or RemedyKind.Rollback or RemedyKind.ZeroGradients => null,   // the trainer skips NaN steps and zeroes its gradients; it has no rollback option
        _ => r,
    });

    private static Remedy Option(Remedy original, string title, string detail) => new(title, detail) { Kind = original.Kind };

    private static string Number(double v) => v.ToString("G3", CultureInfo.InvariantCulture);
}
