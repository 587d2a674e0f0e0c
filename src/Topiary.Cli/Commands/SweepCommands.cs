using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Spectre.Console.Cli;
using Topiary.Cli.Settings;
using Topiary.Cli.Sweeps;

namespace Topiary.Cli.Commands;

/// <summary><c>topiary sweep plan</c>: writes the manifest of a comparison and its grid, one cell per dense model and per run.</summary>
internal sealed class SweepPlanCommand : Command<SweepPlanSettings>
{
    public override int Execute(CommandContext context, SweepPlanSettings settings, CancellationToken cancellationToken)
    {
        var path = Path.Combine(settings.OutDirectory, SweepManifest.FileName);
        var manifest = SweepPlanner.Plan(settings, settings.Axes(), settings.CellThreads, path);
        manifest.WriteOrKeep("--out");
        var (dense, runs) = (manifest.DenseCells, manifest.RunCells);
        System.Console.WriteLine($"wrote {path}: {manifest.Cells.Count} cells, {manifest.Threads} thread{(manifest.Threads == 1 ? "" : "s")} each: " +
            $"dense cells {dense[0].Index}-{dense[^1].Index}, run cells {runs[0].Index}-{runs[^1].Index} (each starts from its seed's dense cell)");
        System.Console.WriteLine($"methods: {string.Join(", ", runs.Select(c => c.Label).Distinct())}");
        System.Console.WriteLine($"run here: topiary sweep run {path} --local-jobs K; on Slurm: topiary sweep slurm {path} --submit; one cell: topiary sweep run-cell {path} --index I");
        return 0;
    }
}

/// <summary><c>topiary sweep run-cell</c>: one cell, into its own folder.</summary>
internal sealed class SweepRunCellCommand(ILogger logger) : Command<SweepRunCellSettings>
{
    public override int Execute(CommandContext context, SweepRunCellSettings settings, CancellationToken cancellationToken) =>
        CellRunner.Run(SweepManifest.Read(settings.Manifest), settings.Index!.Value, logger, cancellationToken);
}

/// <summary><c>topiary sweep run</c>: every unfinished cell in local processes, then collect.</summary>
internal sealed class SweepRunCommand : Command<SweepRunSettings>
{
    public override int Execute(CommandContext context, SweepRunSettings settings, CancellationToken cancellationToken)
    {
        var manifest = SweepManifest.Read(settings.Manifest);
        return LocalSweepRunner.Run(manifest, settings.LocalJobs ?? Math.Max(1, Environment.ProcessorCount / manifest.Threads), cancellationToken);
    }
}

/// <summary><c>topiary sweep collect</c>: the finished cells merged into comparison.json, comparison.md and the plot.</summary>
internal sealed class SweepCollectCommand : Command<SweepCollectSettings>
{
    public override int Execute(CommandContext context, SweepCollectSettings settings, CancellationToken cancellationToken) =>
        SweepCollector.Run(SweepManifest.Read(settings.Manifest));
}

/// <summary><c>topiary sweep slurm</c>: the sbatch scripts of a manifest, and optionally their submission.</summary>
internal sealed class SweepSlurmCommand : Command<SweepSlurmSettings>
{
    public override int Execute(CommandContext context, SweepSlurmSettings settings, CancellationToken cancellationToken)
    {
        var manifest = SweepManifest.Read(settings.Manifest).RequireUnchanged();
        var options = new SlurmOptions(settings.MaxRunning, settings.Memory ?? "3G", settings.TimeLimit, settings.Partition, settings.Account,
            settings.Topiary ?? SelfCommand.ShellLine());
        var submit = SlurmScripts.Write(manifest, options);
        var folder = Path.GetDirectoryName(submit)!;
        System.Console.WriteLine($"wrote {folder}/: dense.sbatch (cells {manifest.DenseCells[0].Index}-{manifest.DenseCells[^1].Index}), " +
            $"cells.sbatch (cells {manifest.RunCells[0].Index}-{manifest.RunCells[^1].Index}, after the dense ones), submit.sh; logs go to {Path.Combine(manifest.Directory, "logs")}/cell-I.log");
        if (!settings.Submit)
        {
            System.Console.WriteLine($"submit with: bash {submit}; resubmit one cell with: sbatch --array=I {Path.Combine(folder, "cells.sbatch")}");
            return 0;
        }
        using var process = Process.Start(new ProcessStartInfo("bash", [submit]) { UseShellExecute = false, RedirectStandardError = true })
            ?? throw new CliUsageException("--submit: cannot start bash");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new CliUsageException($"--submit: sbatch failed (exit {process.ExitCode}): {error.Trim().Split('\n').LastOrDefault() ?? ""}");
        return 0;
    }
}
