using ScottPlot;
using Topiary.IO;
using Topiary.Reporting;

namespace Topiary.Cli.Plots;

/// <summary>
/// <c>gate.png</c> for relevance runs: the median relevance gate exp(−|g|/α) of each prunable layer at each evaluation
/// (<see cref="RunReport.Gate"/>), on a 0–1 axis. A line near 1 is a gate that lets every weight decay alike, plain L2.
/// </summary>
public static class GatePlot
{
    /// <summary>Writes the plot of <paramref name="report"/>'s gate trace to <paramref name="pngPath"/> atomically.</summary>
    /// <exception cref="ArgumentException">The report has no gate trace, or its levels lack the median.</exception>
    public static void Write(RunReport report, string pngPath) => AtomicFile.WriteAllBytes(pngPath, Render(report));

    internal static byte[] Render(RunReport report)
    {
        var trace = report.Gate ?? throw new ArgumentException("the report has no gate trace", nameof(report));
        var median = trace.Levels.ToList().IndexOf(0.5);
        if (median < 0) throw new ArgumentException("the gate trace has no median", nameof(report));
        using var plot = RunPlots.NewPlot();
        var palette = new ScottPlot.Palettes.Category10();
        var names = trace.Evaluations.SelectMany(e => e.Layers.Select(l => l.Name)).Distinct().ToList();
        for (var i = 0; i < names.Count; i++)
        {
            var points = trace.Evaluations.SelectMany(e => e.Layers.Where(l => l.Name == names[i]).Select(l => (X: (double)e.Step, Y: l.Gate[median])))
                .Where(p => double.IsFinite(p.Y)).ToList();
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray(), palette.GetColor(i));
            line.MarkerSize = points.Count > 100 ? 0 : 4;
            line.LegendText = names[i];
        }
        plot.Axes.SetLimitsY(0, 1.05);
        plot.Title($"{report.Model} on {report.Dataset.Name} ({report.Method}): median relevance gate per layer");
        plot.XLabel("pruning step");
        plot.YLabel("median of exp(−|g|/α) over unpruned weights");
        RunPlots.ShowLegendBelow(plot);
        return RunPlots.Png(plot);
    }
}
