using GradientHooks.Diagnostics;
using Xunit;

namespace GradientHooks.Tests.Diagnostics;

/// <summary>
/// The exploding rule on synthetic histories whose norm and loss series are known: spikes are robust outliers of
/// ln‖g‖ (median/MAD), and only spikes the loss responds to, or NaN after, make exploding gradients.
/// </summary>
public class GradientSpikeTests
{
    private static readonly ParameterInfo[] Infos = { new("fc.weight", "fc", new long[] { 1 }, 1) };

    private static StepRecord Step(long s, double loss, double norm, bool nan = false) => new(s, loss,
        new[] { nan ? new GradientStats(1, double.NaN, double.NaN, double.NaN, 1) : new GradientStats(1, norm, norm * norm, norm, 0) }, Infos)
    {
        NonFiniteParameters = nan ? new[] { "fc.weight" } : Array.Empty<string>(),
    };

    private static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    [Fact]
    public void Heavy_tailed_mini_batches_give_spikes_the_loss_absorbs_and_no_alarm()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var r = new Random(seed);
            // ln‖g‖ ~ N(0, 0.3²) with a hard batch (×20) on 5 % of the steps; losses independent, log-normal σ 0.5.
            var history = Enumerable.Range(1, 400).Select(s => Step(s,
                0.1 * Math.Exp(0.5 * Normal(r)), Math.Exp(0.3 * Normal(r) + (r.NextDouble() < 0.05 ? 3 : 0)))).ToList();
            var d = Diagnoser.Diagnose(history);
            Assert.DoesNotContain(d.Findings, f => f.Severity != Severity.Info);
            var info = Assert.Single(d.Findings, f => f.Kind == FindingKind.ExplodingGradients);
            Assert.Contains("absorbed", info.Summary);
        }
    }

    [Fact]
    public void A_spike_the_loss_responds_to_is_exploding_and_a_loss_that_never_returns_is_critical()
    {
        // Steady at norm 1 and loss 0.5; step 60 spikes ×50; the loss then sits ×5 higher for 30 steps and returns.
        var recovers = Enumerable.Range(1, 150).Select(s => Step(s, s > 60 && s <= 90 ? 2.5 : 0.5 + 0.01 * (s % 3), s == 60 ? 50 : 1 + 0.05 * (s % 4))).ToList();
        var f = Diagnoser.Diagnose(recovers).Findings.Single(x => x.Kind == FindingKind.ExplodingGradients);
        Assert.Equal(Severity.Warning, f.Severity);
        Assert.Contains(f.Evidence, e => e.StartsWith("1 gradient spike(s) the loss did not absorb, first at step 60"));
        Assert.Contains(f.Evidence, e => e.Contains("the loss responded: median 2.5 over the next 10 steps"));
        // The same spike, and the loss never comes back.
        var stays = Enumerable.Range(1, 150).Select(s => Step(s, s > 60 ? 2.5 : 0.5 + 0.01 * (s % 3), s == 60 ? 50 : 1 + 0.05 * (s % 4))).ToList();
        var g = Diagnoser.Diagnose(stays).Findings.Single(x => x.Kind == FindingKind.ExplodingGradients);
        Assert.Equal(Severity.Critical, g.Severity);
        Assert.Contains(g.Evidence, e => e.StartsWith("the loss never came back"));
    }

    [Fact]
    public void The_same_spike_with_an_unmoved_loss_is_information()
    {
        // A converging loss (so not a plateau) that the spike at step 60 does not disturb.
        var history = Enumerable.Range(1, 150).Select(s => Step(s, 1.0 / (1 + s / 10.0) + 0.01 * (s % 3), s == 60 ? 50 : 1 + 0.05 * (s % 4))).ToList();
        var d = Diagnoser.Diagnose(history);
        Assert.True(d.IsHealthy, d.ToString());
        Assert.Equal(Severity.Info, d.Findings.Single(x => x.Kind == FindingKind.ExplodingGradients).Severity);
    }

    [Fact]
    public void A_spike_followed_by_NaN_is_critical()
    {
        var history = Enumerable.Range(1, 40).Select(s => Step(s, 0.5, s == 30 ? 40 : 1 + 0.05 * (s % 4), nan: s >= 33)).ToList();
        var f = Diagnoser.Diagnose(history).Findings.Single(x => x.Kind == FindingKind.ExplodingGradients);
        Assert.Equal(Severity.Critical, f.Severity);
        Assert.True(Diagnoser.Diagnose(history).Has(FindingKind.NonFiniteGradients));
    }

    [Fact]
    public void A_burst_at_the_start_is_judged_against_where_training_settled()
    {
        // Weights too large: the first 4 steps have norms ~500 and losses ~100, then training settles at norm 6, loss 2.
        double[] startNorm = { 519, 768, 189, 261 }, startLoss = { 127, 207, 34, 61 };
        var history = Enumerable.Range(1, 60).Select(s => s <= 4 ? Step(s, startLoss[s - 1], startNorm[s - 1]) : Step(s, 2 + 0.05 * (s % 5), 6 + 0.3 * (s % 4))).ToList();
        var f = Diagnoser.Diagnose(history).Findings.Single(x => x.Kind == FindingKind.ExplodingGradients);
        Assert.Equal(Severity.Warning, f.Severity);
        Assert.StartsWith("Exploding gradients at the start of training", f.Summary);
        Assert.Contains(f.Evidence, e => e.Contains("where training settled after it"));
        // A run that simply converges (norm and loss falling smoothly by 100×) has no burst.
        var converging = Enumerable.Range(1, 60).Select(s => Step(s, 0.7 * Math.Pow(0.92, s), 0.5 * Math.Pow(0.92, s))).ToList();
        Assert.DoesNotContain(Diagnoser.Diagnose(converging).Findings, x => x.Kind == FindingKind.ExplodingGradients);
    }

    [Fact]
    public void A_burst_while_the_loss_falls_from_its_start_is_convergence_and_one_that_overshoots_is_not()
    {
        // Taxi-fare with 1,000 rows a step and full statistics every 10th step: the loss falls from 1.0 without a rise,
        // the norm at step 10 is ×6.4 where training settles (0.78) after Adam's first moves; healthy.
        static double Norm(long s) => s == 10 ? 5.0 : s < 50 ? 2.5 - s / 40.0 : 0.78 + 0.03 * (s / 10 % 3);
        var falling = new List<StepRecord>();
        for (long s = 0; s < 400; s++)
        {
            double loss = 0.03 + 0.97 * Math.Exp(-s / 8.0) + 0.002 * (s % 3);
            falling.Add(s % 10 == 0 ? Step(s, loss, Norm(s)) : new StepRecord(s, loss, Array.Empty<GradientStats>(), Infos));
        }
        var d = Diagnoser.Diagnose(falling);
        Assert.True(d.IsHealthy, d.ToString());
        var info = Assert.Single(d.Findings, x => x.Kind == FindingKind.ExplodingGradients);
        Assert.Equal(Severity.Info, info.Severity);
        Assert.StartsWith("Large gradients in the first steps, gone once training settled", info.Summary);

        // The same norms, and the loss climbs to ×3 its first value during the burst before it falls: an overshoot.
        var overshoot = falling.Select(r => r.Step is > 0 and <= 20
            ? r with { Loss = 3.0 } : r).ToList();
        var f = Diagnoser.Diagnose(overshoot).Findings.Single(x => x.Kind == FindingKind.ExplodingGradients);
        Assert.Equal(Severity.Warning, f.Severity);
        Assert.True(f.Evidence.Any(e => e.Contains("and it climbed to 3 from the 1 it started at (×3; threshold ×1.5)")), string.Join("\n", f.Evidence));
    }

    [Theory]
    [InlineData(nameof(DiagnosticThresholds.SpikeZ), 0.0)]
    [InlineData(nameof(DiagnosticThresholds.SpikeFactor), 0.5)]
    [InlineData(nameof(DiagnosticThresholds.LossResponseFactor), 1.0)]
    public void Spike_thresholds_out_of_range_are_refused_with_their_name(string name, double value)
    {
        var t = name switch
        {
            nameof(DiagnosticThresholds.SpikeZ) => new DiagnosticThresholds { SpikeZ = value },
            nameof(DiagnosticThresholds.SpikeFactor) => new DiagnosticThresholds { SpikeFactor = value },
            _ => new DiagnosticThresholds { LossResponseFactor = value },
        };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Diagnoser.Diagnose(Array.Empty<StepRecord>(), t));
        Assert.Equal(name, e.ParamName);
    }
}
