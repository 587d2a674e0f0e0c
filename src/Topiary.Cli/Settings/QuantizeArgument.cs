using Topiary.Quantization;

namespace Topiary.Cli.Settings;

/// <summary><c>--quantize GRID</c> and <c>--quantize-scale S</c> as <c>prune</c> and <c>export</c> take them.</summary>
internal static class QuantizeArgument
{
    private static readonly string[] Grids = ["int8", "int4"];
    private static readonly string[] Scales = ["channel", "tensor"];

    /// <summary>The scheme the two flags give, or null without <c>--quantize</c> (or with a value <see cref="Errors"/> refuses).</summary>
    public static QuantizationScheme? Scheme(string? grid, string? scale) => grid switch
    {
        "int8" or "int4" => new QuantizationScheme(grid == "int8" ? 8 : 4,
            scale == "tensor" ? QuantizationGranularity.PerTensor : QuantizationGranularity.PerChannel),
        _ => null,
    };

    /// <summary>One line per flag that is not valid.</summary>
    public static IEnumerable<string?> Errors(string? grid, string? scale) =>
    [
        CliSettings.OneOf("--quantize", grid, Grids),
        CliSettings.OneOf("--quantize-scale", scale, Scales),
        scale is not null && grid is null ? "--quantize-scale: only with --quantize" : null,
    ];
}
