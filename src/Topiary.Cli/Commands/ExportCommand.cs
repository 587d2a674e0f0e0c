using System.Globalization;
using Spectre.Console;
using Topiary.Inference;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary export</c>: a pruned model as a compact sparse file, an ONNX model or a PyTorch state dict.</summary>
internal static class ExportCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "half" };
    private static readonly string[] Formats = { "sparse", "onnx", "pytorch" };

    public const string Help = """
        topiary export --model-file FILE --format sparse|onnx|pytorch [--out FILE] [--half]

          --model-file FILE   a model.topiary, or a sparse file written by export or simplify
          --format F          sparse: Topiary's compact file (dense, CSR or bitmask per tensor, whichever is smallest)
                              onnx: ONNX (opset 13: Conv, Gemm, Relu, MaxPool, AveragePool, Flatten)
                              pytorch: state dict with PyTorch parameter names, as torch.save's zip (--out
                                       *.pt or *.pth) or as safetensors (--out *.safetensors)
          --out FILE          output file (default: beside the input, with .tsparse, .onnx or .pt)
          --half              sparse only: store values as float16 and report the largest rounding error
        """;

    public static int Run(ArgumentReader args, Microsoft.Extensions.Logging.ILogger logger)
    {
        var file = args.String("model-file") ?? throw new CliUsageException("--model-file: required (a model.topiary or a sparse model file)");
        var format = args.String("format") ?? throw new CliUsageException($"--format: required (one of: {string.Join(", ", Formats)})");
        if (!Formats.Contains(format)) throw new CliUsageException($"--format: unknown value '{format}' (expected one of: {string.Join(", ", Formats)})");
        var half = args.Flag("half");
        var extension = format switch { "sparse" => ".tsparse", "onnx" => ".onnx", _ => ".pt" };
        var output = args.String("out") ?? Path.ChangeExtension(file, extension);
        args.RejectUnknown("export");
        var pytorchLayout = format == "pytorch" ? PyTorchLayout(output) : null;
        if (half && format != "sparse") throw new CliUsageException("--half: only for --format sparse");
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
                var stored = SparseModelFile.Save(output, network, loaded.Architecture, half, loaded.Metadata);
                var table = new Table().AddColumns("tensor", "shape", "non-zero", "layout", "bytes", "dense float32 bytes");
                foreach (var t in stored)
                    table.AddRow(t.Name, string.Join("×", t.Shape), N(t.Nonzero), t.Layout.ToString().ToLowerInvariant(), N(t.Bytes), N(t.DenseBytes));
                AnsiConsole.Write(table);
                if (half) AnsiConsole.WriteLine($"float16 values: largest rounding error {HalfError(network).ToString("E2", CultureInfo.InvariantCulture)}");
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
