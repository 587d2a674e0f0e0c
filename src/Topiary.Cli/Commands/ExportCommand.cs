using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Topiary.Cli.Settings;
using Topiary.Data;
using Topiary.Experiments;
using Topiary.Inference;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary export</c>: a pruned model as a compact sparse file, an ONNX model or a PyTorch state dict.</summary>
internal sealed class ExportCommand : Command<ExportSettings>
{
    public override int Execute(CommandContext context, ExportSettings settings, CancellationToken cancellationToken)
    {
        var (file, format, half, output) = (settings.File, settings.Format!, settings.Half, settings.Output);
        var pytorchLayout = format == "pytorch" ? PyTorchLayout(output) : null;
        if (Path.GetFullPath(output) == Path.GetFullPath(file)) throw new CliUsageException($"--out: {output} is the input file");

        // No backend self-check: export only copies tensors, it runs no convolution.
        var loaded = NetworkFile.Load(file);
        var network = loaded.Network;
        var total = network.ParameterCount;
        var nonzero = network.NonzeroCount;
        AnsiConsole.WriteLine($"{file}: {loaded.Architecture ?? "simplified network"}, {N(total)} parameters, {N(nonzero)} non-zero ({Summary.Percent((double)nonzero / total)})");
        switch (format)
        {
            case "sparse":
                var stored = settings.QuantizationScheme is { } sparseScheme
                    ? SparseModelFile.SaveQuantized(output, network, loaded.Architecture, sparseScheme, loaded.Metadata)
                    : SparseModelFile.Save(output, network, loaded.Architecture, half, loaded.Metadata);
                var table = new Table().AddColumns("tensor", "shape", "non-zero", "layout", "bytes", "dense float32 bytes");
                foreach (var t in stored)
                    table.AddRow(t.Name, string.Join("×", t.Shape), N(t.Nonzero), t.Layout.ToString().ToLowerInvariant(), N(t.Bytes), N(t.DenseBytes));
                AnsiConsole.Write(table);
                if (half) AnsiConsole.WriteLine($"float16 values: largest rounding error {HalfError(network).ToString("E2", CultureInfo.InvariantCulture)}");
                if (settings.QuantizationScheme is { } written) System.Console.WriteLine($"weights as {written} levels, biases float32");
                break;
            case "onnx" when settings.QuantizationScheme is { } onnxScheme:
                var (ranges, images) = Calibrate(network, settings);
                QdqOnnxExporter.Save(output, network, onnxScheme, ranges);
                System.Console.WriteLine($"ONNX QDQ: weights as {onnxScheme} levels, activations uint8 calibrated on {N(images)} training images of {settings.DataDirectory}");
                break;
            case "onnx":
                OnnxExporter.Save(output, network);
                break;
            case "pytorch" when pytorchLayout == ".safetensors":
                SafetensorsExporter.Save(output, network, new Dictionary<string, string> { ["format"] = "pt", ["producer"] = $"topiary {ToolInfo.Version}" });
                break;
            default:
                PyTorchExporter.Save(output, network);
                break;
        }
        var inputBytes = new FileInfo(file).Length;
        var outputBytes = new FileInfo(output).Length;
        AnsiConsole.WriteLine($"wrote {output}: {N(outputBytes)} bytes; input file {N(inputBytes)} bytes ({Ratio(outputBytes, inputBytes)}), dense float32 parameters {N(total * 4)} bytes ({Ratio(outputBytes, total * 4)})");
        return 0;
    }

    /// <summary>Activation ranges observed on the first training images of <c>--data</c>, normalized as training normalized them.</summary>
    private static (ActivationRanges Ranges, int Images) Calibrate(SequentialNetwork network, ExportSettings settings)
    {
        using var data = ImageClassificationData.From(IdxReader.LoadDataset(settings.DataDirectory), seed: 0);
        var input = network.InputShape;
        if (input.Channels != 1 || input.Height != data.ImageSize || input.Width != data.ImageSize)
            throw new CliUsageException($"--data: {settings.DataDirectory} has 1×{data.ImageSize}×{data.ImageSize} images but the model expects {input}");
        return QuantizedExport.Calibrate(network, data, settings.CalibrationImages ?? QuantizedExport.DefaultCalibrationImages);
    }

    /// <summary>The --format pytorch container named by the output's extension: ".pt" (torch.save's zip) or ".safetensors".</summary>
    private static string PyTorchLayout(string output) => Path.GetExtension(output).ToLowerInvariant() switch
    {
        ".pt" or ".pth" => ".pt",
        ".safetensors" => ".safetensors",
        var other => throw new CliUsageException($"--out: {output}: --format pytorch writes .pt, .pth or .safetensors files, not {(other.Length == 0 ? "a name without extension" : $"'{other}'")}"),
    };

    private static double HalfError(SequentialNetwork network) =>
        network.Parameters().SelectMany(p => p.Values).Select(v => Math.Abs(v - (float)(Half)v)).DefaultIfEmpty(0f).Max();

    private static string Ratio(long part, long whole) => (100.0 * part / whole).ToString("F2", CultureInfo.InvariantCulture) + "%";

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
