using System.Globalization;
using Spectre.Console;
using Topiary.Cli.Console;
using Topiary.Reporting;

namespace Topiary.Cli.Commands;

/// <summary>The closing summary of a Transformer run: perplexity (and BLEU) dense against pruned, sparsity per part, a sample.</summary>
internal static class LanguageSummary
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Print(RunReport report, IReadOnlyList<string> files)
    {
        var table = new Table().Title("dense → pruned").AddColumns("", "dense", "pruned");
        table.AddRow("validation perplexity", report.Dense.ValAccuracy.ToString("F3", Inv), report.Final.ValAccuracy.ToString("F3", Inv));
        table.AddRow("test perplexity", report.Dense.TestAccuracy.ToString("F3", Inv), report.Final.TestAccuracy.ToString("F3", Inv));
        if (report.Translation is { } translation)
            table.AddRow($"test BLEU ({translation.Pairs:N0} pairs)", translation.Dense?.Score.ToString("F2", Inv) ?? "—", translation.Pruned.Score.ToString("F2", Inv));
        table.AddRow("parameters", report.Dense.TotalParams.ToString("N0", Inv), report.Final.NonzeroParams.ToString("N0", Inv));
        table.AddRow("remaining", "100.00%", Summary.Percent(report.Final.RemainingFraction));
        table.AddRow("compression", "1.0×", report.Final.CompressionRatio.ToString("F1", Inv) + "×");
        var groups = new Table().Title("per part").AddColumns("part", "total", "non-zero", "remaining");
        foreach (var g in report.LayerGroups ?? [])
            groups.AddRow(g.Group, g.Total.ToString("N0", Inv), g.Nonzero.ToString("N0", Inv), Summary.Percent(g.RemainingFraction));
        if (!TerminalProgress.IsInteractive)
        {
            table.Border(TableBorder.Ascii);
            groups.Border(TableBorder.Ascii);
        }
        AnsiConsole.Write(table);
        AnsiConsole.Write(groups);
        foreach (var sample in (report.Samples ?? []).Where(s => s.Seed == 0))
            System.Console.WriteLine($"{sample.Model} sample: {sample.Text.ReplaceLineEndings(" / ")}");
        foreach (var sample in (report.Translation?.Samples ?? []).Take(1))
        {
            System.Console.WriteLine($"source:    {sample.Source}");
            System.Console.WriteLine($"reference: {sample.Reference}");
            System.Console.WriteLine($"dense:     {sample.Dense}");
            System.Console.WriteLine($"pruned:    {sample.Pruned}");
        }
        System.Console.WriteLine($"selected: {report.Selection}");
        System.Console.WriteLine($"time: {report.Timing.SecondsTotal.ToString("F0", Inv)} s, median step {report.Timing.StepMsMedian.ToString("F1", Inv)} ms");
        if (files.Count > 0) System.Console.WriteLine($"wrote {Path.GetDirectoryName(files[0])}/: {string.Join(", ", files.Select(Path.GetFileName))}");
    }
}
