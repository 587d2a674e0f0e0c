using System.Globalization;
using ScottPlot;
using Topiary.IO;
using Topiary.Reporting;

namespace Topiary.Cli.Plots;

/// <summary>
/// The language-model counterpart of <see cref="RunPlots.WriteAccuracyVsRemaining"/>: validation perplexity
/// against remaining parameters (logarithmic, 100% on the left), with the dense model, the ceiling and
/// the selected model marked.
/// </summary>
public static class PerplexityPlot
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes the plot of <paramref name="report"/> to <paramref name="pngPath"/> atomically.</summary>
    public static void Write(RunReport report, string pngPath) => AtomicFile.WriteAllBytes(pngPath, Render(report));

    internal static byte[] Render(RunReport report)
    {
        using var plot = new Plot();
        if (RunPlots.TextFont is { } font)
        {
            plot.Font.Set(font);
            plot.Legend.FontName = font;
        }
        var points = report.Trajectory;
        var xs = points.Select(p => LogPercent(p.PrunableRemainingFraction)).ToArray();
        var ys = points.Select(p => p.Validation).ToArray();
        if (points.Count > 0)
        {
            var line = plot.Add.Scatter(xs, ys, Colors.SteelBlue);
            line.MarkerSize = points.Count > 200 ? 0 : 4;
            line.LegendText = "validation perplexity";
        }
        plot.Add.Marker(LogPercent(1), report.Dense.Validation, MarkerShape.OpenSquare, 11, Colors.Black).LegendText =
            $"dense: {report.Dense.Validation.ToString("F3", Inv)}";
        if (report.Hyperparameters.TryGetValue("ceiling", out var raw) && raw is double ceiling && double.IsFinite(ceiling))
            plot.Add.HorizontalLine(ceiling, 1.5f, Colors.FireBrick, LinePattern.Dashed).LegendText = $"ceiling: {ceiling.ToString("F3", Inv)}";
        var final = report.Final;
        plot.Add.Marker(LogPercent(final.PrunableRemainingFraction), final.Validation, MarkerShape.FilledCircle, 13, Colors.DarkOrange).LegendText =
            $"selected: {(100 * final.PrunableRemainingFraction).ToString("F2", Inv)}% prunable remaining, {final.Validation.ToString("F3", Inv)}";

        var xMin = Math.Min(xs.Append(LogPercent(final.PrunableRemainingFraction)).Where(double.IsFinite).DefaultIfEmpty(2).Min(), 1.5);
        plot.Axes.SetLimitsX(2.05, xMin - 0.05);
        var ticks = new[] { 100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1 }.Where(t => Math.Log10(t) >= xMin - 0.05).ToArray();
        plot.Axes.Bottom.SetTicks(ticks.Select(Math.Log10).ToArray(), ticks.Select(t => t.ToString("0.#", Inv) + "%").ToArray());
        plot.Title($"{report.Model} on {report.Dataset.Name} ({report.Method}): perplexity vs remaining parameters");
        plot.XLabel("Prunable parameters remaining (log scale)");
        plot.YLabel("Validation perplexity (lower is better)");
        plot.ShowLegend(Edge.Bottom);
        plot.Legend.Orientation = Orientation.Horizontal;
        return plot.GetImageBytes(RunPlots.Width, RunPlots.Height, ImageFormat.Png);
    }

    private static double LogPercent(double fraction) => Math.Log10(Math.Max(fraction * 100, 1e-3));
}
