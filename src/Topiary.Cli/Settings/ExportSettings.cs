using System.ComponentModel;
using Spectre.Console.Cli;
using Topiary.Quantization;

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

    [CommandOption("--quantize <GRID>")]
    [Description("sparse, onnx: quantize the weights after training (int8 or int4, symmetric, one scale per output unit unless --quantize-scale tensor). sparse: scales and integer levels in the sparse layout (file version 3); onnx: an ONNX QDQ model with uint8 activations calibrated on --calibration-images training images of --data")]
    public string? Quantize { get; init; }

    [CommandOption("--quantize-scale <S>")]
    [Description("with --quantize: channel (default) or tensor")]
    public string? QuantizeScale { get; init; }

    [CommandOption("--data <DIR>")]
    [Description("onnx with --quantize: the IDX data set whose training images calibrate the activations (default: Fashion-MNIST)")]
    public string? Data { get; init; }

    [CommandOption("--calibration-images <N>")]
    [Description("onnx with --quantize: how many training images calibrate the activations (default 2048)")]
    public int? CalibrationImages { get; init; }

    /// <summary>The grid <c>--quantize</c> asks for, or null.</summary>
    public QuantizationScheme? QuantizationScheme => QuantizeArgument.Scheme(Quantize, QuantizeScale);

    /// <summary>The calibration data set: the flag, or the default data set.</summary>
    public string DataDirectory => Data ?? ModelDefaults.DataDirectory;

    protected override string ModelFileHint => "a model.topiary or a sparse model file";

    /// <summary>The file to write: the flag, or the input's name with the format's extension.</summary>
    public string Output => Out ?? Path.ChangeExtension(File, Format switch { "sparse" => ".tsparse", "onnx" => ".onnx", _ => ".pt" });

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        Format is null ? $"--format: required (one of: {string.Join(", ", Formats)})" : OneOf("--format", Format, Formats),
        Half && Format != "sparse" ? "--half: only for --format sparse" : null,
        .. QuantizeArgument.Errors(Quantize, QuantizeScale),
        Quantize is not null && Format is not ("sparse" or "onnx") ? "--quantize: only for --format sparse or onnx" : null,
        Quantize is not null && Half ? "--half: cannot be combined with --quantize (the weights are stored as integer levels)" : null,
        (Data is not null || CalibrationImages is not null) && !(Quantize is not null && Format == "onnx")
            ? $"{(Data is not null ? "--data" : "--calibration-images")}: only for --format onnx with --quantize (the activations' calibration)" : null,
        CalibrationImages is < 1 ? $"--calibration-images: must be at least 1, got {CalibrationImages}" : null,
    ];
}
