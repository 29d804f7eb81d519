namespace GradientHooks;

/// <summary>
/// What the micro-batches of one step say about the gradient noise, in a form that adds up across micro-batches and
/// across workers: their count M, Σ 1/bᵢ over their sizes bᵢ, and Σ |gᵢ|² over their mean gradients gᵢ.
/// <para>McCandlish et al. 2018 ("An Empirical Model of Large-Batch Training", appendix A): a gradient estimated on b
/// examples has E|g_b|² = |G|² + tr(Σ)/b, where G is the true gradient and Σ the per-example covariance. The
/// micro-batches give E[(1/M) Σ|gᵢ|²] = |G|² + tr(Σ)/B_small with B_small = M / Σ(1/bᵢ); their average
/// G_big = (1/M) Σ gᵢ (what gradient accumulation with each loss divided by M leaves in <c>p.grad</c>, or what an
/// all-reduce of the workers' gradients gives) has E|G_big|² = |G|² + tr(Σ)/B_big with B_big = M·B_small. Two
/// equations, two unknowns: see <see cref="Estimate"/>.</para>
/// </summary>
/// <param name="MicroBatches">M, the micro-batches seen.</param>
/// <param name="InverseExamples">Σ 1/bᵢ over their sizes.</param>
/// <param name="SquaredNorms">Σ |gᵢ|², each gᵢ the gradient of micro-batch i's mean loss.</param>
public readonly record struct MicroBatchMoments(int MicroBatches, double InverseExamples, double SquaredNorms)
{
    /// <summary>These moments with one more micro-batch of <paramref name="examples"/> examples whose mean gradient has squared norm <paramref name="squaredNorm"/>.</summary>
    public MicroBatchMoments Add(double squaredNorm, long examples)
    {
        if (examples <= 0) throw new ArgumentOutOfRangeException(nameof(examples), examples, "A micro-batch has at least one example.");
        return new(MicroBatches + 1, InverseExamples + 1.0 / examples, SquaredNorms + squaredNorm);
    }

    /// <summary>The moments of two sets of micro-batches together (two workers of one step): every sum adds.</summary>
    public static MicroBatchMoments operator +(MicroBatchMoments a, MicroBatchMoments b) =>
        new(a.MicroBatches + b.MicroBatches, a.InverseExamples + b.InverseExamples, a.SquaredNorms + b.SquaredNorms);

    /// <summary>B_small = M / Σ(1/bᵢ), the harmonic mean of the micro-batch sizes.</summary>
    public double SmallBatch => MicroBatches / InverseExamples;

    /// <summary>
    /// Unbiased estimates from these micro-batches and the squared norm |G_big|² of their average gradient:
    /// with S = (1/M) Σ|gᵢ|², |G|² ≈ (M·|G_big|² − S) / (M − 1) and tr(Σ) ≈ (S − |G_big|²) · B_small · M / (M − 1).
    /// Each can come out negative on one step (they are differences of noisy terms); average them over steps before
    /// taking B_simple = tr(Σ) / |G|². Null with fewer than two micro-batches.
    /// </summary>
    public (double GradientSquaredNorm, double NoiseTrace)? Estimate(double averageSquaredNorm)
    {
        if (MicroBatches < 2) return null;
        int m = MicroBatches;
        double small = SquaredNorms / m;
        return ((m * averageSquaredNorm - small) / (m - 1), (small - averageSquaredNorm) * SmallBatch * m / (m - 1));
    }
}
