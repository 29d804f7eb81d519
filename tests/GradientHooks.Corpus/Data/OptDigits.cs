using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.Corpus.Data;

/// <summary>optdigits-train.csv as tensors: 8×8 images of pixel counts 0..16 (scaled to 0..1) and digit labels.</summary>
public static class OptDigits
{
    /// <summary>Images [n, 1, 8, 8] (float, pixels / 16) and labels [n] (int64).</summary>
    public static (Tensor Images, Tensor Labels) Load(string file = "optdigits-train.csv")
    {
        var lines = File.ReadAllLines(SharedData.PathOf(file)).Where(l => l.Length > 0).ToArray();
        var pixels = new float[lines.Length * 64];
        var labels = new long[lines.Length];
        for (int r = 0; r < lines.Length; r++)
        {
            var cells = lines[r].Split(',');
            for (int c = 0; c < 64; c++) pixels[r * 64 + c] = float.Parse(cells[c], System.Globalization.CultureInfo.InvariantCulture) / 16f;
            labels[r] = long.Parse(cells[64], System.Globalization.CultureInfo.InvariantCulture);
        }
        return (torch.tensor(pixels, new long[] { lines.Length, 1, 8, 8 }), torch.tensor(labels));
    }
}
