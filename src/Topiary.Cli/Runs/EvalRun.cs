using System.Globalization;
using Spectre.Console;
using Topiary.Cli.Commands;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;

namespace Topiary.Cli.Runs;

/// <summary>
/// The one <c>eval</c> path for every model: the file's masks applied, the test metric of its task (the same
/// measurement as the report's <c>final.test</c>), what the kind of model adds (BLEU), and the sparsity in all and per
/// tensor.
/// </summary>
internal static class EvalRun
{
    public static void Print(string file, LoadedModel loaded, PreparedEval prepared)
    {
        var model = loaded.Model;
        using var masks = new PruningMasks(model.named_parameters().Where(p => loaded.Masks.ContainsKey(p.name)));
        masks.CopyFrom(loaded.Masks);
        masks.ApplyToWeights();

        var metric = prepared.Task.Metric;
        var test = prepared.Task.Test(model);
        var inv = CultureInfo.InvariantCulture;
        var (total, nonzero) = SparsityStatistics.Model(model);
        // Plain lines: the console would wrap them at its width, and scripts read them.
        System.Console.WriteLine($"{file}: {loaded.Architecture}, test {metric.Name} {metric.Format(test.Metric)} on {prepared.Data}{prepared.Extra?.Invoke(model)}");
        System.Console.WriteLine($"parameters {total.ToString("N0", inv)}, non-zero {nonzero.ToString("N0", inv)} ({Summary.Percent((double)nonzero / total)}), compression {((double)total / Math.Max(1, nonzero)).ToString("F1", inv)}×");
        var layers = new Table().AddColumns("tensor", "shape", "total", "non-zero", "remaining");
        foreach (var layer in SparsityStatistics.PerLayer(masks))
            layers.AddRow(layer.Name, string.Join("×", layer.Shape), layer.Total.ToString("N0", inv), layer.Nonzero.ToString("N0", inv), Summary.Percent(layer.RemainingFraction));
        AnsiConsole.Write(layers);
    }
}
