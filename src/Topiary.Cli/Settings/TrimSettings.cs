using System.ComponentModel;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary trim</c>.</summary>
internal sealed class TrimSettings : DataFileSettings
{
    [CommandOption("--epsilon <E>")]
    [Description("allowed relative response error per layer, in (0, 1)")]
    [DefaultValue(0.05)]
    public double Epsilon { get; init; } = 0.05;

    [CommandOption("--samples <N>")]
    [Description("calibration images from the training set, at least 10")]
    [DefaultValue(1000)]
    public int Samples { get; init; } = 1000;

    [CommandOption("--iterations <N>")]
    [Description("ADMM iterations per layer")]
    [DefaultValue(100)]
    public int Iterations { get; init; } = 100;

    [CommandOption("--parallel")]
    [Description("each layer sees the original inputs (default: cascade, the trimmed layers' outputs)")]
    public bool Parallel { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("trimmed model (default: trimmed.topiary beside the input)")]
    public string? Out { get; init; }

    /// <summary>The file to write: the flag, or trimmed.topiary beside the input.</summary>
    public string Output => Out ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(File))!, "trimmed.topiary");

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        Epsilon is > 0 and < 1 ? null : $"--epsilon: must lie in (0, 1), got {Epsilon}",
        AtLeast("--samples", Samples, 10),
        AtLeast("--iterations", Iterations, 1),
    ];
}
