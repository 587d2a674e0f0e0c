using System.Globalization;
using Spectre.Console;
using Topiary.Cli.Console;
using Topiary.Experiments;
using Topiary.Reporting;

namespace Topiary.Cli.Commands;

/// <summary>
/// The closing summary of a run, whatever the model: the metric (and BLEU) dense against pruned, sizes, per layer or per
/// part, the cost, a sample of generated text or translation, the selection and where the files are.
/// </summary>
internal static class Summary
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Print(RunReport report, IReadOnlyList<string> files)
    {
        var metric = report.Metric;
        var table = new Table().Title("dense → pruned").AddColumns("", "dense", "pruned");
        table.AddRow($"validation {metric.Name}", metric.Format(report.Dense.Validation), metric.Format(report.Final.Validation));
        table.AddRow($"test {metric.Name}", metric.Format(report.Dense.Test), metric.Format(report.Final.Test));
        if (report.Translation is { } translation)
            table.AddRow($"test BLEU ({translation.Pairs:N0} pairs)", translation.Dense?.Score.ToString("F2", Inv) ?? "—", translation.Pruned.Score.ToString("F2", Inv));
        table.AddRow("parameters", report.Dense.TotalParams.ToString("N0", Inv), report.Final.NonzeroParams.ToString("N0", Inv));
        table.AddRow("remaining", "100.00%", Percent(report.Final.RemainingFraction));
        table.AddRow("compression", "1.0×", report.Final.CompressionRatio.ToString("F1", Inv) + "×");
        var tables = new List<Table> { table };
        // Models with named parts (the Transformers) read best by part; the others layer by layer.
        if (report.LayerGroups is { } groups && groups.Any(g => !ModelParts.LayerTypes.Contains(g.Group)))
        {
            var parts = new Table().Title("per part").AddColumns("part", "total", "non-zero", "remaining");
            foreach (var g in groups)
                parts.AddRow(g.Group, g.Total.ToString("N0", Inv), g.Nonzero.ToString("N0", Inv), Percent(g.RemainingFraction));
            tables.Add(parts);
        }
        else
        {
            var layers = new Table().Title("per layer").AddColumns("tensor", "shape", "total", "non-zero", "remaining");
            foreach (var layer in report.Layers)
                layers.AddRow(layer.Name, string.Join("×", layer.Shape), layer.Total.ToString("N0", Inv), layer.Nonzero.ToString("N0", Inv),
                    Percent(layer.RemainingFraction));
            tables.Add(layers);
        }
        foreach (var t in tables)
        {
            if (!TerminalProgress.IsInteractive) t.Border(TableBorder.Ascii);
            AnsiConsole.Write(t);
        }
        if (report.Cost is { } cost) CostTable.Print(cost);
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

    public static string Percent(double fraction) => (100 * fraction).ToString("F2", Inv) + "%";
}
