using System.ComponentModel;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary analyze</c>.</summary>
internal sealed class AnalyzeSettings : ModelFileSettings
{
    [CommandOption("--iterations <N>")]
    [Description("Gram iterations per layer, 1 to 30")]
    [DefaultValue(8)]
    public int Iterations { get; init; } = 8;

    protected override IEnumerable<string?> Errors() =>
        [.. base.Errors(), Iterations is < 1 or > 30 ? $"--iterations: must lie in 1..30, got {Iterations}" : null];
}
