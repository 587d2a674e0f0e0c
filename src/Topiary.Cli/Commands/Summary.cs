using System.Globalization;
using Spectre.Console;
using Topiary.Cli.Console;
using Topiary.Reporting;

namespace Topiary.Cli.Commands;

/// <summary>The closing summary of a run: dense against final, per layer, and where the files are.</summary>
internal static class Summary
{
    public static void Print(RunReport report, IReadOnlyList<string> files)
    {
        var table = new Table().Title("dense → pruned").AddColumns("", "dense", "pruned");
        table.AddRow("validation accuracy", Percent(report.Dense.ValAccuracy), Percent(report.Final.ValAccuracy));
        table.AddRow("test accuracy", Percent(report.Dense.TestAccuracy), Percent(report.Final.TestAccuracy));
        table.AddRow("parameters", report.Dense.TotalParams.ToString("N0", CultureInfo.InvariantCulture), report.Final.NonzeroParams.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("remaining", "100.00%", Percent(report.Final.RemainingFraction));
        table.AddRow("compression", "1.0×", report.Final.CompressionRatio.ToString("F1", CultureInfo.InvariantCulture) + "×");
        var layers = new Table().Title("per layer").AddColumns("tensor", "shape", "total", "non-zero", "remaining");
        foreach (var layer in report.Layers)
            layers.AddRow(layer.Name, string.Join("×", layer.Shape), layer.Total.ToString("N0", CultureInfo.InvariantCulture),
                layer.Nonzero.ToString("N0", CultureInfo.InvariantCulture), Percent(layer.RemainingFraction));
        if (!TerminalProgress.IsInteractive)
        {
            table.Border(TableBorder.Ascii);
            layers.Border(TableBorder.Ascii);
        }
        AnsiConsole.Write(table);
        AnsiConsole.Write(layers);
        if (report.Cost is { } cost) CostTable.Print(cost);
        System.Console.WriteLine($"selected: {report.Selection}");
        System.Console.WriteLine($"time: {report.Timing.SecondsTotal.ToString("F0", CultureInfo.InvariantCulture)} s, median step {report.Timing.StepMsMedian.ToString("F1", CultureInfo.InvariantCulture)} ms");
        if (files.Count > 0) System.Console.WriteLine($"wrote {Path.GetDirectoryName(files[0])}/: {string.Join(", ", files.Select(Path.GetFileName))}");
    }

    public static string Percent(double fraction) => (100 * fraction).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
