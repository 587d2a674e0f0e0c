using System.Text;
using Topiary.IO;

namespace Topiary.Cli.Sweeps;

/// <summary>What the Slurm scripts of a sweep ask for.</summary>
/// <param name="MaxRunning">At most this many cells of an array at once (<c>--array=…%K</c>), or null for no limit.</param>
/// <param name="Memory">Memory per cell (<c>--mem</c>), e.g. <c>3G</c>.</param>
/// <param name="TimeLimit">Time limit per cell (<c>--time</c>), or null for the partition's.</param>
/// <param name="Partition">Partition, or null for the default one.</param>
/// <param name="Account">Account, or null.</param>
/// <param name="Command">The command that runs <c>topiary</c> on the nodes (shell words).</param>
internal sealed record SlurmOptions(int? MaxRunning, string Memory, string? TimeLimit, string? Partition, string? Account, string Command);

/// <summary>
/// <c>topiary sweep slurm</c>: the sbatch scripts of a manifest, in its folder's <c>slurm/</c>: <c>dense.sbatch</c>, a job
/// array over the dense cells; <c>cells.sbatch</c>, a job array over the run cells, whose array task ids are the cells'
/// indices; and <c>submit.sh</c>, which submits the first and then the second with <c>--dependency=afterok</c> on it.
/// Each task asks for the manifest's threads as CPUs and writes its log to <c>logs/cell-I.log</c>. A cell that must run
/// again is resubmitted alone: <c>sbatch --array=I slurm/cells.sbatch</c>.
/// </summary>
internal static class SlurmScripts
{
    /// <summary>Writes the three files; returns the path of <c>submit.sh</c>.</summary>
    public static string Write(SweepManifest manifest, SlurmOptions options)
    {
        var folder = Path.Combine(manifest.Directory, "slurm");
        var logs = Path.Combine(manifest.Directory, "logs");
        Directory.CreateDirectory(folder);
        Directory.CreateDirectory(logs);
        var dense = manifest.DenseCells;
        var runs = manifest.RunCells;
        AtomicFile.WriteAllText(Path.Combine(folder, "dense.sbatch"), Array(manifest, options, "dense", dense[0].Index, dense[^1].Index, logs));
        AtomicFile.WriteAllText(Path.Combine(folder, "cells.sbatch"), Array(manifest, options, "cells", runs[0].Index, runs[^1].Index, logs));
        var submit = Path.Combine(folder, "submit.sh");
        AtomicFile.WriteAllText(submit, $$"""
            #!/usr/bin/env bash
            # Submits the sweep {{manifest.Path}} to Slurm: the dense cells, then the run cells once every dense cell has
            # ended well (afterok). Written by topiary {{ToolInfo.Version}} sweep slurm; extra arguments go to both sbatch calls.
            set -euo pipefail
            here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
            dense=$(sbatch --parsable "$@" "$here/dense.sbatch")
            # If a dense cell fails, the run cells can never start: Slurm cancels them instead of keeping them pending.
            cells=$(sbatch --parsable "$@" --dependency=afterok:"${dense%%;*}" --kill-on-invalid-dep=yes "$here/cells.sbatch")
            echo "submitted dense cells as job ${dense%%;*} and run cells as job ${cells%%;*}"
            echo "when they have ended: topiary sweep collect {{SelfCommand.Quote(manifest.Path)}}"

            """);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(submit, File.GetUnixFileMode(submit) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        return submit;
    }

    private static string Array(SweepManifest manifest, SlurmOptions options, string name, int first, int last, string logs)
    {
        var text = new StringBuilder();
        text.Append("#!/usr/bin/env bash\n");
        text.Append($"#SBATCH --job-name=topiary-{name}\n");
        text.Append($"#SBATCH --array={first}-{last}{(options.MaxRunning is { } k ? $"%{k}" : "")}\n");
        text.Append("#SBATCH --ntasks=1\n");
        text.Append($"#SBATCH --cpus-per-task={manifest.Threads}\n");
        text.Append($"#SBATCH --mem={options.Memory}\n");
        if (options.TimeLimit is { } time) text.Append($"#SBATCH --time={time}\n");
        if (options.Partition is { } partition) text.Append($"#SBATCH --partition={partition}\n");
        if (options.Account is { } account) text.Append($"#SBATCH --account={account}\n");
        text.Append($"#SBATCH --output={logs}/cell-%a.log\n");
        text.Append("#SBATCH --open-mode=append\n");
        text.Append($"# The {name} cells of {manifest.Path}; the array task id is the cell's index. Written by topiary {ToolInfo.Version} sweep slurm.\n");
        text.Append("# A finished cell exits at once; an interrupted one continues from its checkpoint; one that another runner holds exits with 75.\n");
        text.Append("set -euo pipefail\n");
        text.Append($"exec {options.Command} sweep run-cell {SelfCommand.Quote(manifest.Path)} --index \"$SLURM_ARRAY_TASK_ID\"\n");
        return text.ToString();
    }
}
