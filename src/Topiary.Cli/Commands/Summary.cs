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
        if (report.Quantization is { } quantization) PrintQuantization(quantization);
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

    private static void PrintQuantization(QuantizationSummary q)
    {
        var table = new Table().Title($"pruned model quantized ({q.Scheme})").AddColumns("", "validation accuracy", "test accuracy", "file", "bytes");
        table.AddRow("float32 weights", Percent(q.FloatValidation), Percent(q.FloatTest), QuantizedExport.FloatFileName, q.FloatSparseBytes.ToString("N0", Inv));
        table.AddRow("fake-quantized weights (libtorch)", Percent(q.QuantizedValidation), Percent(q.QuantizedTest), "", "");
        table.AddRow($"int{q.Bits} sparse file (Topiary sparse inference)", "", Percent(q.SparseFileTest), QuantizedExport.QuantizedFileName, q.QuantizedSparseBytes.ToString("N0", Inv));
        if (q.OnnxTest is { } onnxTest)
            table.AddRow($"ONNX QDQ (ONNX Runtime, activations from {q.CalibrationImages:N0} images)", "", Percent(onnxTest), QuantizedExport.OnnxFileName, (q.OnnxBytes ?? 0).ToString("N0", Inv));
        if (!TerminalProgress.IsInteractive) table.Border(TableBorder.Ascii);
        AnsiConsole.Write(table);
        System.Console.WriteLine($"int{q.Bits} file: {Percent((double)q.QuantizedSparseBytes / q.FloatSparseBytes)} of the float32 file; test accuracy {SignedPoints(q.QuantizedTest - q.FloatTest)} points against float; " +
            $"positions take {q.IndexBytes.ToString("N0", Inv)} bytes, an entropy coder of their gaps could take {q.IndexEntropyBytes.ToString("N0", Inv)} " +
            $"(file {Percent((q.QuantizedSparseBytes - q.IndexBytes + q.IndexEntropyBytes) / q.FloatSparseBytes)} of float32)");
    }

    private static string SignedPoints(double difference) => (100 * difference).ToString("+0.00;-0.00;0.00", Inv);

    public static string Percent(double fraction) => (100 * fraction).ToString("F2", Inv) + "%";
}
