using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace GradientHooks.Corpus.Data;

/// <summary>bike-sharing-hour_train.csv as a user reads it by hand: twelve feature columns and the hourly count, on their raw scales.</summary>
public static class BikeSharing
{
    /// <summary>The feature columns read (season … windspeed): hour 0–23, month 1–12, weekday 0–6, temperatures and humidity 0–1.</summary>
    public static readonly string[] Features = { "season", "yr", "mnth", "hr", "holiday", "weekday", "workingday", "weathersit", "temp", "atemp", "hum", "windspeed" };

    /// <summary>Features [n, 12] and the count of rentals [n, 1] (0–977, mean about 190), both as in the file.</summary>
    public static (Tensor X, Tensor Y) Load(string file = "bike-sharing-hour_train.csv")
    {
        var lines = File.ReadAllLines(SharedData.PathOf(file)).Where(l => l.Length > 0).ToArray();
        var header = lines[0].Split(',');
        var columns = Features.Select(f => Array.IndexOf(header, f)).ToArray();
        int target = Array.IndexOf(header, "cnt");
        var x = new float[(lines.Length - 1) * columns.Length];
        var y = new float[lines.Length - 1];
        for (int r = 1; r < lines.Length; r++)
        {
            var cells = lines[r].Split(',');
            for (int c = 0; c < columns.Length; c++) x[(r - 1) * columns.Length + c] = float.Parse(cells[columns[c]], CultureInfo.InvariantCulture);
            y[r - 1] = float.Parse(cells[target], CultureInfo.InvariantCulture);
        }
        return (torch.tensor(x, new long[] { lines.Length - 1, columns.Length }), torch.tensor(y, new long[] { lines.Length - 1, 1 }));
    }
}
