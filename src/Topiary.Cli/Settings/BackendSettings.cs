using System.ComponentModel;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary backend</c>.</summary>
internal sealed class BackendSettings : ThreadSettings
{
    [CommandOption("--recheck")]
    [Description("run the convolution self-check again and replace the cached verdict")]
    public bool Recheck { get; init; }
}
