using System.Globalization;
using System.Text.Json;
using ScottPlot;
using SkiaSharp;
using Topiary.IO;
using Topiary.Reporting;

namespace Topiary.Cli.Plots;

/// <summary>
/// The two PNG figures of a run (900×500 pixels each), rendered with ScottPlot and written atomically:
/// validation accuracy against remaining parameters, and per-layer remaining fraction of the final model.
/// </summary>
public static class RunPlots
{
    /// <summary>Width of every figure in pixels.</summary>
    public const int Width = 900;

    /// <summary>Height of every figure in pixels.</summary>
    public const int Height = 500;

    /// <summary>Smallest remaining percentage drawn on the logarithmic axis (an all-zero model is drawn here).</summary>
    private const double MinRemainingPercent = 1e-3;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Sans-serif families tried in order. ScottPlot's own detection picks "DejaVu Serif" as its sans font on
    /// Debian machines whose only fonts are Debian's fonts-dejavu-core, so the family is chosen explicitly.
    /// </summary>
    private static readonly string[] PreferredFonts =
        ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "FreeSans", "Open Sans"];

    private static readonly Lazy<string?> SansFont = new(FindSansFont, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// The font family used for all text of the figures, or <see langword="null"/> when SkiaSharp finds no font on
    /// this machine: the figures are then still written, but without any text. On Debian the package
    /// <c>fonts-dejavu-core</c> provides the preferred family, "DejaVu Sans".
    /// </summary>
    public static string? TextFont => SansFont.Value;

    private static readonly double[] LogTickCandidates =
        [100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001];

    /// <summary>
    /// Plots validation accuracy (%) against remaining parameters (%, logarithmic axis running from 100% on the
    /// left down to the sparsest point on the right, so pruning progresses left to right). Marks the dense model,
    /// the selected final model and, when <see cref="RunReport.Hyperparameters"/> has a numeric <c>floor</c>,
    /// the accuracy floor as a dashed horizontal line.
    /// </summary>
    /// <param name="report">The run.</param>
    /// <param name="pngPath">Target PNG file; its directory is created if missing.</param>
    public static void WriteAccuracyVsRemaining(RunReport report, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(report);
        AtomicFile.WriteAllBytes(pngPath, RenderAccuracyVsRemaining(report));
    }

    /// <summary>
    /// Draws a bar per prunable layer of the final model with its remaining fraction (%), layer names as tick labels,
    /// and the overall remaining fraction as a dashed line. Bars are vertical for a few short layer names and
    /// horizontal (names on the left, first layer on top) otherwise.
    /// </summary>
    /// <param name="report">The run.</param>
    /// <param name="pngPath">Target PNG file; its directory is created if missing.</param>
    public static void WriteLayerSparsity(RunReport report, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(report);
        AtomicFile.WriteAllBytes(pngPath, RenderLayerSparsity(report));
    }

    internal static byte[] RenderAccuracyVsRemaining(RunReport report)
    {
        using var plot = NewPlot();
        var final = report.Final;
        var points = report.Trajectory;

        var xs = new double[points.Count];
        var ys = new double[points.Count];
        for (var i = 0; i < points.Count; i++)
        {
            xs[i] = LogRemaining(points[i].PrunableRemainingFraction);
            ys[i] = points[i].Validation * 100.0;
        }
        var yValues = new List<double>(ys);

        if (points.Count > 0)
        {
            var line = plot.Add.Scatter(xs, ys, Colors.SteelBlue);
            line.LineWidth = 1.5f;
            line.MarkerSize = points.Count > 200 ? 0 : 4;
            line.LegendText = "validation accuracy";
        }

        if (double.IsFinite(report.Dense.Validation))
        {
            var dense = plot.Add.Marker(LogRemaining(1.0), report.Dense.Validation * 100.0, MarkerShape.OpenSquare, 11, Colors.Black);
            dense.LegendText = $"dense: {Pct(report.Dense.Validation)}";
            yValues.Add(report.Dense.Validation * 100.0);
        }

        if (TryGetFloorPercent(report, out var floorPercent))
        {
            var floor = plot.Add.HorizontalLine(floorPercent, 1.5f, Colors.FireBrick, LinePattern.Dashed);
            floor.LegendText = $"floor: {floorPercent.ToString("F2", Inv)}%";
            yValues.Add(floorPercent);
        }

        if (double.IsFinite(final.Validation) && double.IsFinite(final.PrunableRemainingFraction))
        {
            var selected = plot.Add.Marker(LogRemaining(final.PrunableRemainingFraction), final.Validation * 100.0,
                MarkerShape.FilledCircle, 13, Colors.DarkOrange);
            selected.LegendText =
                $"selected: step {final.Step.ToString(Inv)}, {Pct(final.PrunableRemainingFraction)} prunable remaining, {Pct(final.Validation)} val";
            yValues.Add(final.Validation * 100.0);
        }

        // X: logarithmic remaining %, inverted so that 100% is on the left.
        var xMax = Math.Log10(100.0);
        var xMin = xs.Append(LogRemaining(final.PrunableRemainingFraction)).Where(double.IsFinite).DefaultIfEmpty(xMax).Min();
        xMin = Math.Min(xMin, xMax - 0.5); // at least half a decade wide
        var xPad = (xMax - xMin) * 0.04;
        plot.Axes.SetLimitsX(xMax + xPad, xMin - xPad);
        // 1-2-5 ticks over up to about three decades; only powers of ten beyond that, so labels never collide.
        var powersOfTenOnly = xMax - xMin > 3.2;
        var ticks = LogTickCandidates
            .Where(t => Math.Log10(t) >= xMin - xPad && Math.Log10(t) <= xMax + xPad)
            .Where(t => !powersOfTenOnly || Math.Abs(Math.Log10(t) - Math.Round(Math.Log10(t))) < 1e-9)
            .ToArray();
        plot.Axes.Bottom.SetTicks(ticks.Select(Math.Log10).ToArray(), ticks.Select(t => t.ToString("0.###", Inv) + "%").ToArray());

        // Y: accuracy %, padded.
        var finiteY = yValues.Where(double.IsFinite).ToList();
        var yLo = finiteY.Count > 0 ? finiteY.Min() : 0.0;
        var yHi = finiteY.Count > 0 ? finiteY.Max() : 100.0;
        var yPad = Math.Max((yHi - yLo) * 0.08, 0.5);
        plot.Axes.SetLimitsY(Math.Max(yLo - yPad, 0.0), yHi + yPad);

        plot.Title($"{report.Model} on {report.Dataset.Name} ({report.Method}): accuracy vs remaining parameters");
        plot.XLabel("Prunable parameters remaining (log scale)");
        plot.YLabel("Validation accuracy (%)");
        if (points.Count == 0)
        {
            plot.Add.Annotation("no evaluations recorded", Alignment.MiddleCenter);
        }
        ShowLegendBelow(plot);
        return Png(plot);
    }

    internal static byte[] RenderLayerSparsity(RunReport report)
    {
        using var plot = NewPlot();
        var layers = report.Layers;
        var count = layers.Count;
        var longestName = count > 0 ? layers.Max(l => l.Name.Length) : 0;
        // Few short names fit under vertical bars; otherwise bars are horizontal with the names on the left.
        var horizontal = count > 10 || count * Math.Max(longestName, 6) > 100;
        var showValueLabels = count <= 30;

        var bars = new List<Bar>(count);
        for (var i = 0; i < count; i++)
        {
            var percent = layers[i].RemainingFraction * 100.0;
            bars.Add(new Bar
            {
                // Horizontal bars list the first layer at the top.
                Position = horizontal ? count - 1 - i : i,
                Value = double.IsFinite(percent) ? percent : 0.0,
                FillColor = Colors.SteelBlue,
                LineColor = Colors.SteelBlue.Darken(0.3),
                Label = showValueLabels ? Pct(layers[i].RemainingFraction) : "",
                Size = 0.7,
            });
        }

        var maxValue = 0.0;
        if (count > 0)
        {
            var barPlot = plot.Add.Bars(bars);
            barPlot.Horizontal = horizontal;
            barPlot.ValueLabelStyle.FontSize = count > 16 ? 9 : 12;
            maxValue = bars.Max(b => b.Value);

            // At most ~45 names fit on the axis; beyond that label every k-th layer.
            var labelEvery = count > 45 ? (count + 44) / 45 : 1;
            var positions = bars.Select(b => b.Position).ToArray();
            var names = layers.Select((l, i) => i % labelEvery == 0 ? l.Name : "").ToArray();
            var categoryAxis = horizontal ? (IAxis)plot.Axes.Left : plot.Axes.Bottom;
            categoryAxis.SetTicks(positions, names);
            categoryAxis.MajorTickStyle.Length = 0;
            if (horizontal)
            {
                var slotPixels = 380.0 / Math.Min(count, 45);
                plot.Axes.Left.TickLabelStyle.FontSize = (float)Math.Clamp(slotPixels * 0.75, 7.0, 12.0);
                plot.Axes.SetLimitsY(-0.6, count - 0.4);
                plot.Grid.YAxisStyle.MajorLineStyle.Width = 0;
            }
            else
            {
                plot.Axes.SetLimitsX(-0.6, count - 0.4);
                plot.Grid.XAxisStyle.MajorLineStyle.Width = 0;
            }
        }
        else
        {
            plot.Add.Annotation("no prunable layers reported", Alignment.MiddleCenter);
        }

        var overall = report.Final.RemainingFraction;
        if (double.IsFinite(overall))
        {
            var percent = overall * 100.0;
            var line = horizontal
                ? (ScottPlot.Plottables.AxisLine)plot.Add.VerticalLine(percent, 1.5f, Colors.DarkOrange, LinePattern.Dashed)
                : plot.Add.HorizontalLine(percent, 1.5f, Colors.DarkOrange, LinePattern.Dashed);
            line.LegendText = $"whole model: {Pct(overall)}";
            maxValue = Math.Max(maxValue, percent);
        }

        // Keep the full 0–100% scale unless every bar is small; leave room for the value labels.
        var top = maxValue > 30 ? 100.0 : Math.Max(maxValue, 1.0);
        var valueLimit = top * (horizontal ? 1.12 : 1.06);
        if (horizontal)
        {
            plot.Axes.SetLimitsX(0, valueLimit);
            plot.XLabel("Remaining parameters (%)");
        }
        else
        {
            plot.Axes.SetLimitsY(0, valueLimit);
            plot.YLabel("Remaining parameters (%)");
        }

        plot.Title($"{report.Model}: remaining parameters per layer (final model, step {report.Final.Step.ToString(Inv)})");
        ShowLegendBelow(plot);
        return Png(plot);
    }

    /// <summary>The accuracy floor in percent, from the <c>floor</c> hyperparameter; values ≤ 1 are taken as fractions.</summary>
    internal static bool TryGetFloorPercent(RunReport report, out double percent)
    {
        percent = double.NaN;
        if (!report.Hyperparameters.TryGetValue("floor", out var raw) || !TryGetDouble(raw, out var value) || !double.IsFinite(value))
        {
            return false;
        }
        percent = Math.Abs(value) <= 1.0 ? value * 100.0 : value;
        return true;
    }

    private static bool TryGetDouble(object? raw, out double value)
    {
        switch (raw)
        {
            case double d:
                value = d;
                return true;
            case float f:
                value = f;
                return true;
            case int or long or short or decimal or uint or ulong:
                value = Convert.ToDouble(raw, Inv);
                return true;
            case JsonElement { ValueKind: JsonValueKind.Number } e:
                return e.TryGetDouble(out value);
            case JsonElement { ValueKind: JsonValueKind.String } e:
                return double.TryParse(e.GetString(), NumberStyles.Float, Inv, out value);
            case string s:
                return double.TryParse(s, NumberStyles.Float, Inv, out value);
            default:
                value = double.NaN;
                return false;
        }
    }

    private static double LogRemaining(double fraction) =>
        double.IsFinite(fraction) ? Math.Log10(Math.Max(fraction * 100.0, MinRemainingPercent)) : double.NaN;

    private static string Pct(double fraction) =>
        double.IsFinite(fraction) ? (fraction * 100.0).ToString("F2", Inv) + "%" : "n/a";

    internal static Plot NewPlot()
    {
        var plot = new Plot();
        if (SansFont.Value is { } font)
        {
            plot.Font.Set(font);
            plot.Legend.FontName = font;
        }
        return plot;
    }

    /// <summary>Shows the legend in a row below the data area, where it can never hide a data point.</summary>
    internal static void ShowLegendBelow(Plot plot)
    {
        if (plot.Legend.GetItems().Length == 0)
        {
            return;
        }
        plot.ShowLegend(Edge.Bottom);
        plot.Legend.Orientation = Orientation.Horizontal;
    }

    internal static byte[] Png(Plot plot) => plot.GetImageBytes(Width, Height, ImageFormat.Png);

    private static bool HasLatinGlyphs(string family)
    {
        if (string.IsNullOrWhiteSpace(family))
        {
            return false;
        }
        using var typeface = SKTypeface.FromFamilyName(family);
        return typeface is not null
            && string.Equals(typeface.FamilyName, family, StringComparison.OrdinalIgnoreCase)
            && typeface.ContainsGlyphs("Aa0%");
    }

    private static string? FindSansFont()
    {
        try
        {
            // Without any font file SkiaSharp still reports one family, with an empty name and no glyphs.
            var families = new HashSet<string>(
                SKFontManager.Default.FontFamilies.Where(f => !string.IsNullOrWhiteSpace(f)), StringComparer.OrdinalIgnoreCase);
            var candidates = PreferredFonts.Where(families.Contains).Append(Fonts.Default).Concat(families);
            return candidates.FirstOrDefault(HasLatinGlyphs);
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }
}
