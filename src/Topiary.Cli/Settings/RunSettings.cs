using System.ComponentModel;
using System.Globalization;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The output folder and thread count that every training command (<c>prune</c>, <c>compare</c>) reads alike.</summary>
internal abstract class RunSettings : ThreadSettings
{
    [CommandOption("--out <DIR>")]
    [Description("output folder (default runs/<timestamp>, compare: runs/compare-<timestamp>, sweep plan: runs/sweep-<timestamp>); prune keeps checkpoints in DIR/checkpoint")]
    public string? Out { get; init; }

    /// <summary>The folder's name before its timestamp when <c>--out</c> is not given.</summary>
    protected virtual string FolderPrefix => "";

    /// <summary>Resolved once, so a run's messages and files agree on the folder.</summary>
    public string OutDirectory => outDirectory ??= Out ?? Path.Combine("runs", FolderPrefix + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));

    private string? outDirectory;
}
