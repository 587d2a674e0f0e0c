using System.ComponentModel;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The libtorch thread count, for every command that computes on libtorch's threads.</summary>
internal abstract class ThreadSettings : CliSettings
{
    [CommandOption("--threads <N>")]
    [Description("libtorch threads (default: all cores; sweep plan: 1 per cell, which is also its Slurm --cpus-per-task)")]
    public int? Threads { get; init; }

    /// <summary>Threads to use: the flag, or all cores.</summary>
    public int ThreadCount => Threads ?? Environment.ProcessorCount;

    protected override IEnumerable<string?> Errors() => [.. base.Errors(), AtLeast("--threads", Threads, 1)];
}
