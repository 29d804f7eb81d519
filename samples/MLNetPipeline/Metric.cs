using GradientHooks.Samples;
using GradientHooks.MLNet;
using Microsoft.ML;

namespace MLNetPipeline;

/// <summary>The one number reported per task: R² (regression), AUC (binary), micro accuracy (multiclass), from ML.NET's own evaluators.</summary>
public static class Metric
{
    /// <summary>Name of the reported metric.</summary>
    public static string Name(TorchMlpTask task) => task switch
    {
        TorchMlpTask.Regression => "R²",
        TorchMlpTask.BinaryClassification => "AUC",
        _ => "accuracy",
    };

    /// <summary>Evaluates scored data with ML.NET's evaluator for the task.</summary>
    public static double Of(MLContext ml, TorchMlpTask task, IDataView scored, string label) => task switch
    {
        TorchMlpTask.Regression => ml.Regression.Evaluate(scored, label).RSquared,
        TorchMlpTask.BinaryClassification => ml.BinaryClassification.EvaluateNonCalibrated(scored, label).AreaUnderRocCurve,
        _ => ml.MulticlassClassification.Evaluate(scored, label).MicroAccuracy,
    };
}
