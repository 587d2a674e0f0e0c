using System.Globalization;
using Spectre.Console;
using Topiary.Cli.Console;
using Topiary.Reporting;

namespace Topiary.Cli.Commands;

/// <summary>The size-and-compute table of a run: per layer and for the network (alive units, MACs).</summary>
internal static class CostTable
{
    public static void Print(NetworkCost cost)
    {
        var table = new Table().Title("size and compute (per sample)")
            .AddColumns("layer", "type", "total", "non-zero", "remaining", "compression", "alive units", "dense MACs", "MACs left");
        foreach (var l in cost.Layers)
            table.AddRow(l.Name, l.Type, N(l.Total), N(l.Nonzero), Summary.Percent(l.RemainingFraction), X(l.CompressionRatio),
                $"{N(l.AliveUnits)}/{N(l.Units)}", N(l.DenseMacs), N(l.RemainingMacs));
        table.AddRow("network", "", N(cost.Total), N(cost.Nonzero), Summary.Percent(cost.RemainingFraction), X(cost.CompressionRatio),
            $"{N(cost.AliveUnits)}/{N(cost.Units)}", N(cost.DenseMacs), N(cost.RemainingMacs));
        if (!TerminalProgress.IsInteractive)
        {
            table.Border(TableBorder.Ascii);
            // Redirected output has no terminal width to respect; Spectre would otherwise wrap every cell at 80 columns.
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
        }
        AnsiConsole.Write(table);
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string X(double ratio) => double.IsFinite(ratio) ? ratio.ToString("F1", CultureInfo.InvariantCulture) + "×" : "∞";
}
