using System.Globalization;
using Spectre.Console;
using Topiary.Analysis;
using Topiary.Backend;
using Topiary.Pruning;
using Topiary.Serialization;
using static TorchSharp.torch;
using Topiary.Models;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary analyze</c>: Lipschitz bounds by Gram iteration and path-norms of a saved model.</summary>
internal static class AnalyzeCommand
{
    public const string Help = """
        topiary analyze --model-file FILE [--iterations N]   Lipschitz bounds and path-norms of a saved model

          --model-file FILE   a model written by topiary prune (model.topiary)
          --iterations N      Gram iterations per layer, 1 to 30 (default 8)
        """;

    public static int Run(ArgumentReader args, Microsoft.Extensions.Logging.ILogger logger)
    {
        var file = args.String("model-file") ?? throw new CliUsageException("--model-file: required (the model.topiary of a run)");
        var iterations = args.Int("iterations", 8);
        if (iterations is < 1 or > 30) throw new CliUsageException($"--iterations: must lie in 1..30, got {iterations}");
        args.RejectUnknown("analyze");

        var loaded = CatalogArchitectures.LoadImageModel(file);
        TorchBackend.EnsureVerified(logger);
        loaded.ApplyMasks();
        loaded.Model.eval();

        var layers = LipschitzAnalysis.Layers(loaded.Model, zeros(1, 1, loaded.ImageSize, loaded.ImageSize), iterations);
        var table = new Table().AddColumns("layer", "kind", "input", "spectral-norm bound (Gram iteration)");
        foreach (var layer in layers)
            table.AddRow(layer.Name, layer.Kind, layer.InputSize == 0 ? "" : $"{layer.InputSize}×{layer.InputSize}", F(layer.Bound));
        AnsiConsole.WriteLine($"{file}: {loaded.Architecture}, {iterations} Gram iterations");
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"Lipschitz upper bound (product of layer bounds): {F(LipschitzAnalysis.Product(layers))}");
        AnsiConsole.WriteLine($"path-norms: L1 {F(PathNorm.Compute(loaded.Model, 1, loaded.ImageSize))}, L2 {F(PathNorm.Compute(loaded.Model, 2, loaded.ImageSize))}");
        return 0;
    }

    private static string F(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
