using System.ComponentModel;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary sweep plan</c>: a comparison's, and the grid.</summary>
internal sealed class SweepPlanSettings : CompareSettings
{
    [CommandOption("--grid <FLAG=V1,V2>")]
    [Description("an axis of the grid: a compare flag and its values, e.g. --grid alpha=1,auto:0.5 --grid gamma=1e-4,1e-3 (repeat for more axes; a method setting varies only the methods that take it, any other flag also the dense models)")]
    public string[]? Grid { get; init; }

    protected override string FolderPrefix => "sweep-";

    /// <summary>Threads per cell: the flag, or one (cells run side by side).</summary>
    public int CellThreads => Threads ?? 1;

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        Resume is null ? null : "--resume: sweep plan takes no --resume (run the manifest again to continue a sweep)",
        LocalJobs is null ? null : "--local-jobs: sweep plan only writes the manifest; run it with topiary sweep run MANIFEST --local-jobs K",
        GridError(),
    ];

    /// <summary>The axes of <c>--grid</c>, a flag given twice adding values to one axis.</summary>
    public IReadOnlyList<Sweeps.GridAxis> Axes() =>
        (Grid ?? []).Select(Split).GroupBy(a => a.Flag).Select(g => new Sweeps.GridAxis(g.Key, g.SelectMany(a => a.Values).ToList())).ToList();

    private static Sweeps.GridAxis Split(string text)
    {
        var (flag, values) = text.IndexOf('=') is var eq and > 0 ? (text[..eq].TrimStart('-'), text[(eq + 1)..]) : (text, "");
        return new Sweeps.GridAxis(flag, values.Split(',', StringSplitOptions.TrimEntries).ToList());
    }

    // Flags that are the sweep's own or that each cell sets itself.
    private static readonly string[] NotAxes = ["out", "threads", "resume", "local-jobs", "grid", "seed", "seeds", "help"];

    private string? GridError()
    {
        foreach (var text in Grid ?? [])
        {
            var axis = Split(text);
            if (!text.Contains('=') || axis.Values.Any(v => v.Length == 0))
                return $"--grid: expected FLAG=VALUE,VALUE,…, got '{text}'";
            if (GivenOptions.TypeOf(typeof(CompareSettings), "--" + axis.Flag) is null)
                return $"--grid: '{axis.Flag}' is not a flag of topiary compare";
            if (NotAxes.Contains(axis.Flag))
                return $"--grid: {axis.Flag} cannot be an axis ({(axis.Flag is "seed" or "seeds" ? "--seed and --seeds give the sweep's seeds" : "it is the sweep's own")})";
            if (axis.Flag == "methods") return "--grid: methods cannot be an axis (list them in --methods)";
            if (GivenOptions.Of(this).Any(o => o.Flag == "--" + axis.Flag))
                return $"--grid: --{axis.Flag} is given as a flag too; give its values only in the grid";
        }
        return null;
    }
}

/// <summary>The manifest every <c>topiary sweep</c> command but <c>plan</c> reads.</summary>
internal class SweepManifestSettings : CliSettings
{
    [CommandArgument(0, "<MANIFEST>")]
    [Description("the sweep.json that topiary sweep plan wrote (or its folder)")]
    public string Manifest { get; init; } = "";
}

/// <summary>The flags of <c>topiary sweep run-cell</c>.</summary>
internal sealed class SweepRunCellSettings : SweepManifestSettings
{
    [CommandOption("--index <I>")]
    [Description("the cell to run (required): its index in the manifest, as a Slurm array task id gives it ($SLURM_ARRAY_TASK_ID)")]
    public int? Index { get; init; }

    protected override IEnumerable<string?> Errors() =>
        [.. base.Errors(), Index is null ? "--index: required (the cell to run)" : null, AtLeast("--index", Index, 0)];
}

/// <summary>The flags of <c>topiary sweep run</c>.</summary>
internal sealed class SweepRunSettings : SweepManifestSettings
{
    [CommandOption("--local-jobs <K>")]
    [Description("cells run side by side in K local processes (default: the cores divided by the manifest's threads per cell)")]
    public int? LocalJobs { get; init; }

    protected override IEnumerable<string?> Errors() => [.. base.Errors(), AtLeast("--local-jobs", LocalJobs, 1)];
}

/// <summary>The flags of <c>topiary sweep collect</c>.</summary>
internal sealed class SweepCollectSettings : SweepManifestSettings;

/// <summary>The flags of <c>topiary sweep slurm</c>.</summary>
internal sealed class SweepSlurmSettings : SweepManifestSettings
{
    [CommandOption("--max-running <K>")]
    [Description("at most K cells of each array at once (--array=…%K; default: no limit)")]
    public int? MaxRunning { get; init; }

    [CommandOption("--mem <SIZE>")]
    [Description("memory per cell, as sbatch takes it (default 3G)")]
    public string? Memory { get; init; }

    [CommandOption("--time <LIMIT>")]
    [Description("time limit per cell, as sbatch takes it, e.g. 2:00:00 (default: the partition's)")]
    public string? TimeLimit { get; init; }

    [CommandOption("--partition <NAME>")]
    [Description("Slurm partition (default: the cluster's default)")]
    public string? Partition { get; init; }

    [CommandOption("--account <NAME>")]
    [Description("Slurm account (default: yours)")]
    public string? Account { get; init; }

    [CommandOption("--topiary <COMMAND>")]
    [Description("how the nodes run topiary, as shell words (default: this topiary, by its absolute path)")]
    public string? Topiary { get; init; }

    [CommandOption("--submit")]
    [Description("also submit the scripts (runs slurm/submit.sh)")]
    public bool Submit { get; init; }

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        AtLeast("--max-running", MaxRunning, 1),
        Memory is null || System.Text.RegularExpressions.Regex.IsMatch(Memory, "^[0-9]+[KMGT]?$") ? null : $"--mem: expected a size such as 3G or 3000M, got '{Memory}'",
    ];
}
