using System.Globalization;
using Spectre.Console;
using Topiary.Backend;
using Topiary.Data;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Models;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary trim</c>: Net-Trim (layer-wise convex pruning by ADMM) of a saved model's linear layers.</summary>
internal static class TrimCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "parallel", "help" };

    public const string Help = """
        topiary trim --model-file FILE [options]   Net-Trim: re-fit each linear layer sparsely, keeping its responses within ε

          --model-file FILE   a model written by topiary prune (model.topiary)
          --data DIR          IDX data set for calibration and test (default /usr/share/datasets/fashion-mnist)
          --epsilon E         allowed relative response error per layer, in (0, 1) (default 0.05)
          --samples N         calibration images from the training set (default 1000)
          --iterations N      ADMM iterations per layer (default 100)
          --parallel          each layer sees the original inputs (default: cascade, the trimmed layers' outputs)
          --out FILE          trimmed model (default: trimmed.topiary beside the input)
        """;

    public static int Run(ArgumentReader args, Microsoft.Extensions.Logging.ILogger logger, CancellationToken token)
    {
        var file = args.String("model-file") ?? throw new CliUsageException("--model-file: required (the model.topiary of a run)");
        var dataDirectory = args.String("data", PruneCommand.DefaultDataDirectory);
        var epsilon = args.Double("epsilon", 0.05);
        if (!(epsilon > 0 && epsilon < 1)) throw new CliUsageException($"--epsilon: must lie in (0, 1), got {epsilon}");
        var samples = args.Int("samples", 1000);
        if (samples < 10) throw new CliUsageException($"--samples: must be at least 10, got {samples}");
        var iterations = args.Int("iterations", 100);
        if (iterations < 1) throw new CliUsageException($"--iterations: must be at least 1, got {iterations}");
        var cascade = !args.Flag("parallel");
        var output = args.String("out") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "trimmed.topiary");
        args.RejectUnknown("trim");

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
            foreach (var entry in masks.Entries) entry.Mask.copy_(entry.Parameter.ne(0).to(entry.Mask.dtype));
        ModelFile.Save(output, loaded.Architecture, loaded.ImageSize, data.Classes, loaded.Model, masks);
        AnsiConsole.WriteLine($"wrote {output}");
        return 0;
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
