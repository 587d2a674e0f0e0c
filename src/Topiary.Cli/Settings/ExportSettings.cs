using System.ComponentModel;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary export</c>.</summary>
internal sealed class ExportSettings : ModelFileSettings
{
    private static readonly string[] Formats = ["sparse", "onnx", "pytorch"];

    [CommandOption("--format <FORMAT>")]
    [Description("required. sparse: Topiary's compact file (dense, CSR or bitmask per tensor, whichever is smallest); onnx: ONNX (opset 13: Conv, Gemm, Relu, MaxPool, AveragePool, Flatten); pytorch: state dict with PyTorch parameter names, as torch.save's zip (--out *.pt or *.pth) or as safetensors (--out *.safetensors)")]
    public string? Format { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("output file (default: beside the input, with .tsparse, .onnx or .pt)")]
    public string? Out { get; init; }

    [CommandOption("--half")]
    [Description("sparse only: store values as float16 and report the largest rounding error")]
    public bool Half { get; init; }

    protected override string ModelFileHint => "a model.topiary or a sparse model file";

    /// <summary>The file to write: the flag, or the input's name with the format's extension.</summary>
    public string Output => Out ?? Path.ChangeExtension(File, Format switch { "sparse" => ".tsparse", "onnx" => ".onnx", _ => ".pt" });

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        Format is null ? $"--format: required (one of: {string.Join(", ", Formats)})" : OneOf("--format", Format, Formats),
        Half && Format != "sparse" ? "--half: only for --format sparse" : null,
    ];
}
