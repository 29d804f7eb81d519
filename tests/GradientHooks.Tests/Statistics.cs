namespace GradientHooks.Tests;

/// <summary>Closed-form reference statistics for the tests (independent of the code under test).</summary>
internal static class Statistics
{
    public static double Std(IReadOnlyList<double> xs)
    {
        double mean = xs.Average();
        return Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / xs.Count);
    }

    public static double Kurtosis(IReadOnlyList<double> xs)
    {
        double mean = xs.Average();
        double m2 = xs.Sum(x => Math.Pow(x - mean, 2)) / xs.Count;
        double m4 = xs.Sum(x => Math.Pow(x - mean, 4)) / xs.Count;
        return m4 / (m2 * m2);
    }

    /// <summary>Φ(x) from erf by Abramowitz &amp; Stegun 7.1.26 (absolute error below 1.5e−7).</summary>
    public static double NormalCdf(double x)
    {
        double z = Math.Abs(x) / Math.Sqrt(2);
        double t = 1 / (1 + 0.3275911 * z);
        double erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.Exp(-z * z);
        return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
    }

    /// <summary>Kolmogorov–Smirnov distance sup |F_n(x) − F(x)| of a sample against a continuous CDF.</summary>
    public static double KolmogorovSmirnov(IEnumerable<double> sample, Func<double, double> cdf)
    {
        var sorted = sample.OrderBy(x => x).ToArray();
        double d = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            double f = cdf(sorted[i]);
            d = Math.Max(d, Math.Max(f - (double)i / sorted.Length, (double)(i + 1) / sorted.Length - f));
        }
        return d;
    }
}
