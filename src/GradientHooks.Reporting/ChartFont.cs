using SkiaSharp;

namespace GradientHooks.Reporting;

/// <summary>
/// The sans-serif font the charts are laid out with: the first of the usual UI fonts this machine has (Segoe UI on
/// Windows, Helvetica Neue on macOS, DejaVu Sans or Liberation Sans on Linux). ScottPlot's own choice
/// (<c>Fonts.Sans</c>) asks fontconfig for "sans-serif", which on a minimal Debian answers DejaVu Serif.
/// </summary>
internal static class ChartFont
{
    private static readonly string[] Preferred = ["Segoe UI", "Helvetica Neue", "Helvetica", "Arial", "DejaVu Sans", "Liberation Sans", "Noto Sans", "Ubuntu"];

    /// <summary>The font's family name; ScottPlot's <c>Fonts.Sans</c> when none of <see cref="Preferred"/> is installed.</summary>
    public static string Name { get; } = Detect();

    /// <summary>The CSS font-family list an SVG chart names: <see cref="Name"/>, then the same usual fonts, then sans-serif.</summary>
    public static string CssFamily { get; } = string.Join(", ", new[] { Name }.Concat(Preferred).Distinct().Select(f => f.Contains(' ') ? $"'{f}'" : f)) + ", sans-serif";

    private static string Detect()
    {
        var installed = new HashSet<string>(SKFontManager.Default.GetFontFamilies(), StringComparer.OrdinalIgnoreCase);
        return Preferred.FirstOrDefault(installed.Contains) ?? ScottPlot.Fonts.Sans;
    }
}
