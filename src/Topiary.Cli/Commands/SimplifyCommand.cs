using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Topiary.Cli.Settings;
using Topiary.Backend;
using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Cli.Commands;

/// <summary>
/// <c>topiary simplify</c>: physically removes dead neurons and filters, writing a smaller dense network, and measures how
/// much faster it runs than the network it came from.
/// </summary>
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
        using var original = new OnnxRuntimeNetwork(loaded.Network);
        using var simplified = new OnnxRuntimeNetwork(result.Network);
        foreach (var batch in TimedBatches)
        {
            var (before, after) = Speed(original, simplified, batch);
            System.Console.WriteLine($"speed at batch {batch} (ONNX Runtime, 1 thread, median of {TimingRounds} interleaved samples on this machine): " +
                $"{Ms(before)} ms before, {Ms(after)} ms after ({(before / after).ToString("F2", CultureInfo.InvariantCulture)}× as fast)");
        }
        AnsiConsole.WriteLine($"wrote {output} ({N(new FileInfo(output).Length)} bytes)");
        return 0;
    }

    private static readonly int[] TimedBatches = [1, 64];
    private const int TimingRounds = 30;

    /// <summary>Per-batch forward time (ms) of both networks as dense ONNX models, the way a user deploys the simplified one.</summary>
    private static (double Before, double After) Speed(OnnxRuntimeNetwork original, OnnxRuntimeNetwork simplified, int batch)
    {
        var random = new Random(1);
        var input = new float[batch * original.Network.InputShape.Size];
        for (var i = 0; i < input.Length; i++) input[i] = (float)random.NextDouble();
        var output = new float[batch * original.Network.OutputShape.Size];
        var medians = InterleavedTiming.Medians(TimingRounds,
            [() => original.Forward(input, output, batch), () => simplified.Forward(input, output, batch)]);
        return (medians[0], medians[1]);
    }

    private static string Ms(double value) => value.ToString(value < 1 ? "F3" : "F2", CultureInfo.InvariantCulture);

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
