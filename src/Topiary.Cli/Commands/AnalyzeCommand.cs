using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Topiary.Cli.Settings;
using Topiary.Analysis;
using Topiary.Backend;
using Topiary.Pruning;
using Topiary.Serialization;
using static TorchSharp.torch;
using Topiary.Models;
using Topiary.Experiments;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary analyze</c>: Lipschitz bounds by Gram iteration and path-norms of a saved model.</summary>
internal sealed class AnalyzeCommand(Microsoft.Extensions.Logging.ILogger logger) : Command<AnalyzeSettings>
{
    public override int Execute(CommandContext context, AnalyzeSettings settings, CancellationToken cancellationToken)
    {
        var (file, iterations) = (settings.File, settings.Iterations);

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
