using FsCheck;
using FsCheck.Xunit;
using GradientHooks.RangeTest;
using Xunit;

namespace GradientHooks.Tests.RangeTest;

/// <summary>The laws of the sweep's judgement, on curves written in the test.</summary>
public sealed class SweepAnalysisTests
{
    [Fact]
    public void A_non_finite_loss_is_divergence_at_once()
    {
        Assert.Equal(2, SweepAnalysis.Divergence(new[] { 1.0, 0.9, double.NaN }, 3, 2));
        Assert.Equal(1, SweepAnalysis.Divergence(new[] { 1.0, double.PositiveInfinity }, 3, 2));
    }

    [Property(MaxTest = 200)]
    public bool Noise_around_a_level_is_never_divergence(PositiveInt seed)
    {
        // Log-normal noise with σ = 0.3 around a falling then flat curve: a noisy plateau, not a blow-up.
        var random = new Random(seed.Get);
        var losses = new List<double>();
        for (int i = 0; i < 100; i++)
        {
            double level = i < 50 ? Math.Exp(-i / 10.0) : Math.Exp(-5);
            double gauss = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            losses.Add(level * Math.Exp(0.3 * gauss));
            if (SweepAnalysis.Divergence(losses, SweepAnalysis.Block(100), 2) is not null) return false;
        }
        return true;
    }

    [Fact]
    public void A_loss_that_grows_tenfold_per_step_is_caught_within_a_block_and_dated_at_its_first_rise()
    {
        var losses = Enumerable.Range(0, 40).Select(i => 1.0 / (1 + i)).ToList();
        int? caught = null;
        for (int k = 0; k < SweepAnalysis.Block(100) && caught is null; k++)
        {
            losses.Add(losses[^1] * 10);
            caught = SweepAnalysis.Divergence(losses, SweepAnalysis.Block(100), 2);
        }
        Assert.Equal(40, caught);
    }

    [Fact]
    public void Smoothing_does_not_shift_a_straight_line_and_ignores_one_outlier()
    {
        var line = Enumerable.Range(0, 30).Select(i => Math.Exp(-0.1 * i)).ToArray();
        var smooth = SweepAnalysis.Smooth(line, 5);
        for (int i = 0; i < 30; i++) Assert.Equal(line[i], smooth[i], 1e-12);
        var spiked = (double[])line.Clone();
        spiked[15] = 100;
        // The outlier moves the running median of its neighbours by one step of the line at most: within 10 %, where a
        // plain average of 5 would be ×2.5 off.
        for (int i = 10; i < 20; i++) Assert.InRange(SweepAnalysis.Smooth(spiked, 5)[i] / line[i], 0.9, 1.1);
    }

    [Fact]
    public void The_steepest_fall_is_found_before_the_minimum()
    {
        // ln L = −tanh((ln η − ln 1e-3)) then rising: steepest at 1e-3, minimum later.
        var rates = Enumerable.Range(0, 81).Select(i => Math.Pow(10, -6 + i * 0.1)).ToArray();
        var smooth = rates.Select(r => Math.Exp(-Math.Tanh(Math.Log(r / 1e-3)) + (r > 1 ? Math.Log(r) : 0))).ToArray();
        var (steepest, minimum) = SweepAnalysis.Suggestions(rates, smooth, 5, 10);
        Assert.Equal(1e-3, rates[steepest!.Value], 1e-9);
        Assert.True(minimum > steepest);
    }
}
