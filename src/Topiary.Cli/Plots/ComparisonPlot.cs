using System.Globalization;
using ScottPlot;
using Topiary.Comparison;
using Topiary.IO;

namespace Topiary.Cli.Plots;

/// <summary>
/// <c>comparison.png</c>: the test metric (accuracy in %, or perplexity) against remaining parameters (%,
/// logarithmic, 100% on the left). Per method, in one colour: a thin line per seed through that run's test
/// trajectory (the model right before each pruning event, then the selected one), a thick line through the
/// seed-mean (<see cref="MethodSummary.MeanTrajectory"/>: seeds interpolated at the union of their levels),
/// and the selected models' mean ± std as a dot with error bars. The seeds' dense models are open squares.
/// </summary>
internal static class ComparisonPlot
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(ComparisonReport report, string pngPath) => AtomicFile.WriteAllBytes(pngPath, Render(report));

    private static double LogPercent(double fraction) => Math.Log10(Math.Max(100 * fraction, 1e-3));

    internal static byte[] Render(ComparisonReport report)
    {
        using var plot = RunPlots.NewPlot();
        var metric = report.Metric;
        var palette = new ScottPlot.Palettes.Category10();
        var xs = new List<double>();
        var ys = new List<double>();
        for (var i = 0; i < report.Methods.Count; i++)
        {
            var method = report.Methods[i];
            var color = palette.GetColor(i);
            var runs = report.Runs.Where(r => r.Method == method && r.Failure is null).ToList();
            foreach (var run in runs.Where(r => r.TestTrajectory.Count > 1))
            {
                var seedLine = plot.Add.ScatterLine(run.TestTrajectory.Select(p => LogPercent(p.RemainingFraction)).ToArray(),
                    run.TestTrajectory.Select(p => metric.OnAxis(p.TestMetric)).ToArray(), color.WithAlpha(0.35));
                seedLine.LineWidth = 1;
                xs.AddRange(seedLine.Data.GetScatterPoints().Select(p => p.X));
                ys.AddRange(seedLine.Data.GetScatterPoints().Select(p => p.Y));
            }
            var summary = report.Summaries.First(s => s.Method == method);
            if (summary.MeanTrajectory.Count > 1)
            {
                var mean = plot.Add.ScatterLine(summary.MeanTrajectory.Select(l => LogPercent(l.RemainingFraction)).ToArray(),
                    summary.MeanTrajectory.Select(l => metric.OnAxis(l.TestMetricMean)).ToArray(), color);
                mean.LineWidth = 2.5f;
            }
            if (runs.Count == 0) continue;
            var x = LogPercent(summary.RemainingMean);
            var y = metric.OnAxis(summary.TestMetricMean);
            var error = plot.Add.ErrorBar([x], [y], [metric.OnAxis(summary.TestMetricStd)]);
            error.Color = color;
            var final = plot.Add.Marker(x, y, MarkerShape.FilledCircle, 9, color);
            final.LegendText = $"{method}: {metric.Format(summary.TestMetricMean)} at {(100 * summary.RemainingMean).ToString("F2", Inv)}%";
            xs.Add(x);
            ys.AddRange([y - metric.OnAxis(summary.TestMetricStd), y + metric.OnAxis(summary.TestMetricStd)]);
        }
        var dense = report.Runs.GroupBy(r => r.Seed).Select(g => metric.OnAxis(g.First().DenseTestMetric)).ToArray();
        if (dense.Length > 0)
        {
            var marker = plot.Add.Markers(dense.Select(_ => 2.0).ToArray(), dense, MarkerShape.OpenSquare, 10, Colors.Black);
            marker.LegendText = "dense (per seed)";
            xs.Add(2.0);
            ys.AddRange(dense);
        }
        var finite = ys.Where(double.IsFinite).DefaultIfEmpty(0).ToList();
        var xMin = Math.Min(xs.Where(double.IsFinite).DefaultIfEmpty(1).Min(), 1.5);
        var pad = (2.0 - xMin) * 0.05;
        plot.Axes.SetLimitsX(2.0 + pad, xMin - pad);
        var ticks = new[] { 100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01 }.Where(t => Math.Log10(t) >= xMin - pad).ToArray();
        plot.Axes.Bottom.SetTicks(ticks.Select(Math.Log10).ToArray(), ticks.Select(t => t.ToString("0.##", Inv) + "%").ToArray());
        var (yLo, yHi) = (finite.Min(), finite.Max());
        var yPad = Math.Max((yHi - yLo) * 0.08, metric.HigherIsBetter ? 0.5 : 0.01);
        plot.Axes.SetLimitsY(metric.HigherIsBetter ? Math.Max(0, yLo - yPad) : yLo - yPad, metric.HigherIsBetter ? Math.Min(100, yHi + yPad) : yHi + yPad);
        plot.Title($"{report.Model}: test {metric.Name} vs remaining parameters ({report.Seeds.Count} seeds per method)");
        plot.XLabel("remaining parameters (log scale); thick: seed mean, thin: each seed, dot: result mean ± std");
        plot.YLabel(metric.AxisLabel);
        RunPlots.ShowLegendBelow(plot);
        return RunPlots.Png(plot);
    }
}
