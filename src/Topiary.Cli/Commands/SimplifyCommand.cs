using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Topiary.Cli.Settings;
using Topiary.Backend;
using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary simplify</c>: physically removes dead neurons and filters, writing a smaller dense network.</summary>
internal sealed class SimplifyCommand(Microsoft.Extensions.Logging.ILogger logger) : Command<SimplifySettings>
{
    public override int Execute(CommandContext context, SimplifySettings settings, CancellationToken cancellationToken)
    {
        var (file, output) = (settings.File, settings.Output);
        if (Path.GetFullPath(output) == Path.GetFullPath(file)) throw new CliUsageException($"--out: {output} is the input file");

        var loaded = NetworkFile.Load(file);
        TorchBackend.EnsureVerified(logger);    // after loading, so that a bad file fails at once
        var result = NetworkSimplifier.Simplify(loaded.Network);
        var table = new Table().AddColumns("layer", "kind", "shape before", "shape after");
        foreach (var layer in result.Layers)
            table.AddRow(layer.Name, layer.Kind, string.Join("×", layer.ShapeBefore), string.Join("×", layer.ShapeAfter));
        AnsiConsole.Write(table);

        var difference = MaxDifference(loaded.Network, result.Network);
        var metadata = loaded.Metadata.DeepClone().AsObject();
        metadata["simplified_from"] = loaded.Architecture ?? Path.GetFileName(file);
        SparseModelFile.Save(output, result.Network, architecture: null, half: false, metadata);
        AnsiConsole.WriteLine($"parameters {N(loaded.Network.ParameterCount)} → {N(result.Network.ParameterCount)}, non-zero {N(loaded.Network.NonzeroCount)} → {N(result.Network.NonzeroCount)}");
        AnsiConsole.WriteLine($"largest output difference on 256 random inputs: {difference.ToString("E2", CultureInfo.InvariantCulture)}");
        AnsiConsole.WriteLine($"wrote {output} ({N(new FileInfo(output).Length)} bytes)");
        return 0;
    }

    private static double MaxDifference(SequentialNetwork before, SequentialNetwork after)
    {
        using var scope = NewDisposeScope();
        using var original = new TorchNetwork(before);
        using var simplified = new TorchNetwork(after);
        var input = randn(new long[] { 256, before.InputChannels, before.InputHeight, before.InputWidth }, generator: new Generator(1));
        return original.forward(input).sub(simplified.forward(input)).abs().max().item<float>();
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
