using GradientHooks.Initialization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>
/// TorchMlp is an ML.NET trainer: <see cref="ITrainerEstimator{TTransformer, TModel}"/> with <see cref="TrainerInfo"/>,
/// and its transformer an <see cref="ISingleFeaturePredictionTransformer{TModel}"/>. So ML.NET's permutation feature
/// importance works for all three tasks (the overload typed on the prediction transformer) and finds the features the
/// label depends on;
/// code written against trainers takes it; ML.NET's calibrators fit on its scores.
/// </summary>
public sealed class PredictionTransformerTests
{
    private sealed class Row
    {
        public float X0, X1, X2, X3;
        public float Target;
        public bool Positive;
        public string Quadrant = "";
    }

    /// <summary>Target = 3·x0 + 2·x1²; Positive = x0 &gt; 0; Quadrant of (x0, x1). x2 and x3 are noise the labels ignore.</summary>
    private static IDataView Data(MLContext ml, int rows, int seed)
    {
        var random = new Random(seed);
        float U() => (float)(random.NextDouble() * 2 - 1);
        var data = Enumerable.Range(0, rows).Select(_ =>
        {
            var r = new Row { X0 = U(), X1 = U(), X2 = U(), X3 = U() };
            r.Target = 3 * r.X0 + 2 * r.X1 * r.X1;
            r.Positive = r.X0 > 0;
            r.Quadrant = (r.X0 >= 0, r.X1 >= 0) switch { (true, true) => "NE", (false, true) => "NW", (false, false) => "SW", _ => "SE" };
            return r;
        }).ToArray();
        return ml.Data.LoadFromEnumerable(data);
    }

    private static IEstimator<ITransformer> Features(MLContext ml) => ml.Transforms.Concatenate("Features", "X0", "X1", "X2", "X3");

    private static TorchMlpOptions Options(string label) => new() { LabelColumnName = label, HiddenLayers = new[] { 32, 32 }, Epochs = 30, BatchSize = 32, Seed = 1 };

    [Fact]
    public void Regression_feature_importance_finds_the_features_the_target_depends_on()
    {
        var ml = new MLContext(seed: 1);
        var train = Data(ml, 1500, 1);
        var model = Features(ml).Append(ml.Regression.Trainers.TorchMlp(Options("Target"))).Fit(train);
        var test = model.Transform(Data(ml, 600, 2));

        // ML.NET's overload typed on the prediction transformer. (The overload taking the whole chain looks for ML.NET's
        // internal ISingleFeaturePredictionTransformer, which no component outside ML.NET can implement.)
        var pfi = ml.Regression.PermutationFeatureImportance(model.LastTransformer, test, labelColumnName: "Target", permutationCount: 3);
        Assert.Equal(4, pfi.Length);
        double Drop(int f) => -pfi[f].RSquared.Mean;
        Assert.True(Drop(0) > 0.5, $"X0 {Drop(0):F3}");
        Assert.True(Drop(1) > 0.1, $"X1 {Drop(1):F3}");
        Assert.True(Math.Abs(Drop(2)) < 0.02 && Math.Abs(Drop(3)) < 0.02, $"X2 {Drop(2):F3}, X3 {Drop(3):F3}");
        var chain = Assert.Throws<ArgumentNullException>(() => ml.Regression.PermutationFeatureImportance((ITransformer)model, test, labelColumnName: "Target"));
        Assert.Contains("compatible predictor", chain.Message);
    }

    [Fact]
    public void Binary_and_multiclass_feature_importance_work_and_rank_the_used_features_first()
    {
        var ml = new MLContext(seed: 1);
        var binary = Features(ml).Append(ml.BinaryClassification.Trainers.TorchMlp(Options("Positive"))).Fit(Data(ml, 1500, 3));
        var binaryPfi = ml.BinaryClassification.PermutationFeatureImportance(binary.LastTransformer, binary.Transform(Data(ml, 600, 4)), labelColumnName: "Positive");
        Assert.True(-binaryPfi[0].AreaUnderRocCurve.Mean > 0.2, $"X0 {binaryPfi[0].AreaUnderRocCurve.Mean:F3}");
        Assert.True(Math.Abs(binaryPfi[3].AreaUnderRocCurve.Mean) < 0.02);

        var multi = ml.Transforms.Conversion.MapValueToKey("Label", "Quadrant").Append(Features(ml))
            .Append(ml.MulticlassClassification.Trainers.TorchMlp(Options("Label"))).Fit(Data(ml, 1500, 5));
        var multiPfi = ml.MulticlassClassification.PermutationFeatureImportance(multi.LastTransformer, multi.Transform(Data(ml, 600, 6)));
        foreach (var used in new[] { 0, 1 })
            Assert.True(-multiPfi[used].MacroAccuracy.Mean > 0.2, $"X{used} {multiPfi[used].MacroAccuracy.Mean:F3}");
        Assert.True(Math.Abs(multiPfi[2].MacroAccuracy.Mean) < 0.03);
    }

    [Fact]
    public void Code_written_against_trainers_takes_TorchMlp_and_a_calibrator_fits_on_its_scores()
    {
        var ml = new MLContext(seed: 1);
        var data = Features(ml).Fit(Data(ml, 800, 7)).Transform(Data(ml, 800, 7));
        var trainer = ml.BinaryClassification.Trainers.TorchMlp(Options("Positive"));
        Assert.True(trainer.Info.NeedNormalization);
        var parameters = TrainAndTakeModel(trainer, data);
        Assert.Equal(new[] { 4, 32, 32, 1 }, parameters.LayerSizes);
        Assert.Equal(new[] { Activation.ReLU, Activation.ReLU, Activation.Linear }, parameters.Activations);
        var (w, b) = parameters.GetLayer(0);
        Assert.Equal(4 * 32, w.Length);
        Assert.Equal(32, b.Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => parameters.GetLayer(3));

        var scored = trainer.Fit(data).Transform(data);
        var calibrated = ml.BinaryClassification.Calibrators.Platt(labelColumnName: "Positive").Fit(scored).Transform(scored);
        var metrics = ml.BinaryClassification.Evaluate(calibrated, labelColumnName: "Positive");
        Assert.True(metrics.AreaUnderRocCurve > 0.95, $"AUC {metrics.AreaUnderRocCurve:F3}");
        Assert.InRange(metrics.LogLoss, 0, 0.5);
    }

    /// <summary>Written for any ML.NET trainer, as AutoML-style sweeps are.</summary>
    private static TModel TrainAndTakeModel<TTransformer, TModel>(ITrainerEstimator<TTransformer, TModel> trainer, IDataView data)
        where TTransformer : ISingleFeaturePredictionTransformer<TModel>
        where TModel : class
    {
        var transformer = trainer.Fit(data);
        Assert.Equal("Features", transformer.FeatureColumnName);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 4), transformer.FeatureColumnType);
        return transformer.Model;
    }
}
