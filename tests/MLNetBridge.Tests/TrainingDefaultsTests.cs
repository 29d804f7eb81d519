using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Xunit;

namespace GradientHooks.MLNet.Tests;

/// <summary>
/// The default configuration: batch size from the number of rows, learning rate scaled with the batch and annealed
/// on a cosine; early stopping on a hold-out when asked for, returning the best epoch's network.
/// </summary>
public sealed class TrainingDefaultsTests
{
    [Theory]
    [InlineData(105, 32)]        // iris' training split: never fewer than 32 rows a step...
    [InlineData(20, 20)]         // ...nor more than the rows
    [InlineData(13949, 217)]     // bike-sharing: about 64 steps an epoch
    [InlineData(79877, 1248)]    // taxi-fare's 80 % training split
    [InlineData(500000, 2048)]   // at most 2,048
    public void The_automatic_batch_size_follows_the_rule(int rows, int expected) =>
        Assert.Equal(expected, TorchMlpOptions.AutomaticBatchSize(rows));

    [Fact]
    public void The_automatic_learning_rate_is_Adams_default_at_64_rows_and_grows_with_the_square_root_of_the_batch()
    {
        Assert.Equal(1e-3, TorchMlpOptions.AutomaticLearningRate(64), 15);
        Assert.Equal(2e-3, TorchMlpOptions.AutomaticLearningRate(256), 15);
        Assert.Equal(Math.Sqrt(8) * 1e-3, TorchMlpOptions.AutomaticLearningRate(512), 15);
    }

    [Fact]
    public void Defaults_train_in_the_automatic_batches_and_name_the_learning_rate_in_remedies()
    {
        var ml = new MLContext(1);
        var model = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 2, Seed = 1 }).Fit(Synthetic.Regression(ml, 640));
        Assert.All(model.TrainingHistory, e => Assert.Equal(20, e.Steps));   // 640 rows / 32
        Assert.All(model.TrainingHistory, e => Assert.Null(e.ValidationLoss));
    }

    [Fact]
    public void The_schedules_anneal_the_rate_after_every_step_by_their_closed_forms()
    {
        var ml = new MLContext(1);
        var data = Synthetic.Regression(ml, 640);   // 20 steps an epoch at 32 rows; 5 epochs: T = 100 steps
        const double eta = 0.01;
        double[] Rates(LearningRateSchedule? schedule)
        {
            var options = new TorchMlpOptions { Epochs = 5, Seed = 1, LearningRate = eta };
            if (schedule is LearningRateSchedule s) options.LearningRateSchedule = s;
            return ml.Regression.Trainers.TorchMlp(options).Fit(data).TrainingHistory.Select(e => Math.Round(e.LearningRate, 9)).ToArray();
        }
        var after = new[] { 20, 40, 60, 80, 100 };   // the step count at the end of each epoch
        // Default: η until step 70, then η · (1 + cos(π · (t − 70) / 30)) / 2.
        Assert.Equal(after.Select(t => Math.Round(t < 70 ? eta : eta * (1 + Math.Cos(Math.PI * (t - 70) / 30.0)) / 2, 9)), Rates(null));
        // Cosine: η · (1 + cos(π · t / 100)) / 2.
        Assert.Equal(after.Select(t => Math.Round(eta * (1 + Math.Cos(Math.PI * t / 100.0)) / 2, 9)), Rates(LearningRateSchedule.Cosine));
        Assert.All(Rates(LearningRateSchedule.Constant), r => Assert.Equal(eta, r));
    }

    [Fact]
    public void The_epoch_line_names_the_learning_rate()
    {
        var ml = new MLContext(1);
        var model = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 5, Seed = 1, LearningRate = 0.01, LearningRateSchedule = LearningRateSchedule.Cosine })
            .Fit(Synthetic.Regression(ml, 640));
        Assert.Contains("lr 0.00905", model.TrainingHistory[0].ToString());   // 0.01 · (1 + cos(π/5)) / 2
    }

    [Fact]
    public void Early_stopping_stops_when_the_validation_loss_stalls_and_returns_the_best_epoch()
    {
        var ml = new MLContext(1);
        var data = Synthetic.Regression(ml, 400);
        // Far too large a step: the validation loss stops improving within a few epochs.
        // A constant rate, so that a refit with fewer epochs (below) takes the same steps.
        var options = new TorchMlpOptions { Epochs = 60, Seed = 1, ValidationFraction = 0.25, EarlyStoppingPatience = 2, LearningRate = 0.5, HiddenLayers = new[] { 16 }, LearningRateSchedule = LearningRateSchedule.Constant };
        var model = ml.Regression.Trainers.TorchMlp(options).Fit(data);
        var losses = model.TrainingHistory.Select(e => e.ValidationLoss!.Value).ToArray();
        Assert.True(losses.Length < 60, $"ran all {losses.Length} epochs");
        int best = Array.IndexOf(losses, losses.Where(double.IsFinite).Min());
        Assert.Equal(losses.Length - 1 - 2, best);   // stopped exactly `patience` epochs after its best
        Assert.All(model.TrainingHistory, e => Assert.Equal(10, e.Steps));   // 300 rows train (32 a step), 100 held out

        // The model returned is the best epoch's: refit with Epochs = best + 1 and no stopping gives the same scores.
        var again = ml.Regression.Trainers.TorchMlp(new TorchMlpOptions
        {
            Epochs = best + 1, Seed = 1, ValidationFraction = 0.25, EarlyStoppingPatience = 0, LearningRate = 0.5, HiddenLayers = new[] { 16 },
            LearningRateSchedule = LearningRateSchedule.Constant,
        }).Fit(data);
        float[] Scores(ITransformer t) => t.Transform(data).GetColumn<float>("Score").ToArray();
        Assert.Equal(Scores(again), Scores(model));
    }

    [Fact]
    public void Progress_and_findings_reach_MLContext_Log_when_the_context_is_given()
    {
        var ml = new MLContext(1);
        var messages = new List<LoggingEventArgs>();
        ml.Log += (_, e) => { if (e.Source.StartsWith("TorchMlp", StringComparison.Ordinal)) lock (messages) messages.Add(e); };
        ml.Regression.Trainers.TorchMlp(new TorchMlpOptions
        {
            HiddenLayers = Enumerable.Repeat(32, 12).ToArray(), Activation = GradientHooks.Initialization.Activation.Sigmoid,
            Init = GradientHooks.Initialization.InitScheme.LeCunNormal, Epochs = 4, Seed = 1, LearningRate = 1e-3, Context = ml,
        }).Fit(Synthetic.Regression(ml, 800));

        var info = messages.Where(m => m.Kind == ChannelMessageKind.Info).Select(m => m.RawMessage).ToList();
        Assert.Equal(new[] { "epoch 1", "epoch 2", "epoch 3", "epoch 4" }, info.Take(4).Select(m => m.Split(':')[0]));
        Assert.StartsWith("trained 4 of 4 epochs; gradient diagnosis:", info[4]);
        Assert.Contains(messages, m => m.Kind == ChannelMessageKind.Warning && m.RawMessage.Contains("vanishing gradients") && m.RawMessage.Contains("TorchMlpOptions.Activation"));
        Assert.All(messages, m => Assert.Equal("TorchMlp; Training", m.Source));

        var quiet = new MLContext(1);
        int count = 0;
        quiet.Log += (_, e) => { if (e.Source.StartsWith("TorchMlp", StringComparison.Ordinal)) count++; };
        quiet.Regression.Trainers.TorchMlp(new TorchMlpOptions { Epochs = 1, Seed = 1 }).Fit(Synthetic.Regression(quiet, 100));
        Assert.Equal(0, count);
    }
}
