using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;
using Topiary.Cli.Settings;
using Topiary.Backend;
using Topiary.Data;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Models;
using Topiary.Experiments;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary trim</c>: Net-Trim (layer-wise convex pruning by ADMM) of a saved model's linear layers.</summary>
internal sealed class TrimCommand(Microsoft.Extensions.Logging.ILogger logger) : Command<TrimSettings>
{
    public override int Execute(CommandContext context, TrimSettings settings, CancellationToken token)
    {
        var (file, dataDirectory, epsilon, samples, iterations, output) = (settings.File, settings.Data, settings.Epsilon, settings.Samples, settings.Iterations, settings.Output);
        var cascade = !settings.Parallel;

        TorchBackend.EnsureVerified(logger);
        var loaded = CatalogArchitectures.LoadImageModel(file);
        using var data = ImageClassificationData.From(IdxReader.LoadDataset(dataDirectory), seed: 0);
        if (data.ImageSize != loaded.ImageSize)
            throw new CliUsageException($"--data: {dataDirectory} has {data.ImageSize}×{data.ImageSize} images but the model expects {loaded.ImageSize}×{loaded.ImageSize}");
        loaded.Model.eval();
        var before = Evaluation.Classify(loaded.Model, data.TestImages, data.TestLabels);
        var calibration = data.TrainImages.narrow(0, 0, Math.Min(samples, data.TrainCount));
        var reports = NetTrimPruner.Prune(loaded.Model, calibration, epsilon, cascade, iterations: iterations, cancellationToken: token);
        var after = Evaluation.Classify(loaded.Model, data.TestImages, data.TestLabels);

        var table = new Table().AddColumns("layer", "non-zero before", "non-zero after", "relative response error");
        foreach (var r in reports)
            table.AddRow(r.Name, N(r.NonzeroBefore), N(r.NonzeroAfter), r.RelativeResponseError.ToString("F4", CultureInfo.InvariantCulture));
        AnsiConsole.WriteLine($"{file}: {loaded.Architecture}, Net-Trim ({(cascade ? "cascade" : "parallel")}), ε = {epsilon.ToString(CultureInfo.InvariantCulture)}, {calibration.shape[0]} calibration images, {iterations} ADMM iterations");
        AnsiConsole.Write(table);
        var (total, nonzero) = SparsityStatistics.Model(loaded.Model);
        AnsiConsole.WriteLine($"test accuracy {Summary.Percent(before.Metric)} → {Summary.Percent(after.Metric)}; non-zero parameters {N(nonzero)} of {N(total)} ({Summary.Percent((double)nonzero / total)})");

        using var masks = new PruningMasks(ParameterSelector.Select(loaded.Model, ParameterScope.WeightsAndBiases));
        using (no_grad())
        {
            // Held through the calls: TorchSharp does not keep an implicit Scalar alive while libtorch reads it.
            using var zero = 0.ToScalar();
            foreach (var entry in masks.Entries) entry.Mask.copy_(entry.Parameter.ne(zero).to(entry.Mask.dtype));
        }
        ModelFile.Save(output, loaded.Architecture, loaded.ImageSize, data.Classes, loaded.Model, masks);
        AnsiConsole.WriteLine($"wrote {output}");
        return 0;
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
