using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.Corpus.Data;

/// <summary>breast-cancer.txt as tensors, read as a user would: '?' (16 missing values in column 6) becomes NaN.</summary>
public static class BreastCancer
{
    /// <summary>Features [699, 9] (cell measures 1..10 divided by 10; missing → NaN) and labels [699, 1] (1 = malignant).</summary>
    public static (Tensor Features, Tensor Labels) Load()
    {
        var rows = File.ReadAllLines(SharedData.PathOf("breast-cancer.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith("//", StringComparison.Ordinal))
            .Select(l => l.Split('\t')).ToArray();
        var x = new float[rows.Length * 9];
        var y = new float[rows.Length];
        for (int r = 0; r < rows.Length; r++)
        {
            y[r] = float.Parse(rows[r][0], CultureInfo.InvariantCulture);
            for (int c = 0; c < 9; c++)
                x[r * 9 + c] = float.TryParse(rows[r][c + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v / 10f : float.NaN;
        }
        return (torch.tensor(x, new long[] { rows.Length, 9 }), torch.tensor(y, new long[] { rows.Length, 1 }));
    }
}
