using System.Globalization;
using ScottPlot;
using Topiary.Comparison;
using Topiary.IO;

namespace Topiary.Cli.Plots;

/// <summary>
/// <c>comparison.png</c>: test accuracy (%) against remaining parameters (%, logarithmic, 100% on the left),
/// one curve per method through its seeds' selected models (ordered by remaining parameters), and the
/// shared dense starting points for reference.
/// </summary>
internal static class ComparisonPlot
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(ComparisonReport report, string pngPath) => AtomicFile.WriteAllBytes(pngPath, Render(report));

    internal static byte[] Render(ComparisonReport report)
    {
        using var plot = RunPlots.NewPlot();
        var xs = new List<double>();
        var ys = new List<double>();
        foreach (var method in report.Methods)
        {
            var runs = report.Runs.Where(r => r.Method == method).OrderByDescending(r => r.RemainingFraction).ToList();
            if (runs.Count == 0) continue;
            var x = runs.Select(r => Math.Log10(Math.Max(100 * r.RemainingFraction, 1e-3))).ToArray();
            var y = runs.Select(r => 100 * r.TestAccuracy).ToArray();
            var line = plot.Add.Scatter(x, y);
            line.LineWidth = 1.5f;
            line.MarkerSize = 7;
            var summary = report.Summaries.First(s => s.Method == method);
            line.LegendText = $"{method}: {(100 * summary.TestAccuracyMean).ToString("F2", Inv)}% at {(100 * summary.RemainingMean).ToString("F2", Inv)}%";
            xs.AddRange(x);
            ys.AddRange(y);
        }
        var dense = report.Runs.GroupBy(r => r.Seed).Select(g => 100 * g.First().DenseTestAccuracy).ToArray();
        if (dense.Length > 0)
        {
            var marker = plot.Add.Markers(dense.Select(_ => 2.0).ToArray(), dense, MarkerShape.OpenSquare, 10, Colors.Black);
            marker.LegendText = "dense (per seed)";
            xs.Add(2.0);
            ys.AddRange(dense);
        }
        var xMin = Math.Min(xs.DefaultIfEmpty(1).Min(), 1.5);
        var pad = (2.0 - xMin) * 0.05;
        plot.Axes.SetLimitsX(2.0 + pad, xMin - pad);
        var ticks = new[] { 100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01 }.Where(t => Math.Log10(t) >= xMin - pad).ToArray();
        plot.Axes.Bottom.SetTicks(ticks.Select(Math.Log10).ToArray(), ticks.Select(t => t.ToString("0.##", Inv) + "%").ToArray());
        var yLo = ys.DefaultIfEmpty(0).Min();
        var yHi = ys.DefaultIfEmpty(100).Max();
        var yPad = Math.Max((yHi - yLo) * 0.08, 0.5);
        plot.Axes.SetLimitsY(Math.Max(0, yLo - yPad), Math.Min(100, yHi + yPad));
        plot.Title($"{report.Model}: test accuracy vs remaining parameters ({report.Seeds.Count} seeds per method)");
        plot.XLabel("remaining parameters (log scale)");
        plot.YLabel("test accuracy (%)");
        RunPlots.ShowLegendBelow(plot);
        return RunPlots.Png(plot);
    }
}
