using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Cli.Commands;
using Topiary.Cli.Runs;
using Topiary.Comparison;
using Topiary.Reporting;
using Topiary.Training;

namespace Topiary.Cli.Sweeps;

/// <summary>
/// <c>topiary sweep run-cell</c>: runs one cell of a manifest into its folder. A finished cell is skipped; an
/// interrupted run cell continues from its last checkpoint (a dense cell starts again: dense training is not
/// checkpointed); a cell another runner holds is left to it (<see cref="CellBusyException"/>).
/// </summary>
internal static class CellRunner
{
    public const string CheckpointFolder = "checkpoint";

    /// <summary>Runs cell <paramref name="index"/>; returns the exit code.</summary>
    public static int Run(SweepManifest manifest, int index, ILogger logger, CancellationToken cancellationToken)
    {
        var cell = manifest.Cell(index);
        manifest.RequireUnchanged([cell, .. cell.DependsOn.Select(manifest.Cell)]);
        var folder = manifest.FolderOf(cell);
        var identity = cell.Identity(manifest.Threads);
        if (CellRecord.Read(folder) is { Status: CellStatus.Finished })
        {
            System.Console.WriteLine($"{cell.Name}: finished already; skipped");
            return 0;
        }
        foreach (var dependency in cell.DependsOn.Select(manifest.Cell))
            if (CellRecord.Read(manifest.FolderOf(dependency)) is not { Status: CellStatus.Finished })
                throw new CliUsageException($"--index: {cell.Name} starts from {dependency.Name}, which has not finished; run it first");
        using var held = CellLock.TryTake(folder) ?? throw new CellBusyException(cell, CellLock.Owner(folder));
        // Checked again under the lock: another runner may have finished it in between.
        var previous = CellRecord.Read(folder);
        if (previous is { Status: CellStatus.Finished })
        {
            System.Console.WriteLine($"{cell.Name}: finished already; skipped");
            return 0;
        }

        var settings = SweepPlanner.SettingsOf(cell, manifest.Threads, folder);
        var prepared = ComparisonRunner.Prepare(settings, logger);
        var backend = TorchBackend.EnsureVerified(logger);
        var started = new CellRecord(identity, CellStatus.Running)
        {
            Host = Environment.MachineName,
            ProcessId = Environment.ProcessId,
            ProcessStarted = ProcessStartTime(),
            Started = DateTimeOffset.Now,
            Model = prepared.Plan.ModelName,
            Dataset = prepared.Plan.Dataset,
            Backend = BackendInfo.From(backend, manifest.Threads),
            Settings = JsonSerializer.SerializeToNode(prepared.Settings, ReportJson.Options)!.AsObject(),
        };
        started.Write(folder);
        System.Console.WriteLine($"topiary {ToolInfo.Version} sweep: {cell.Name} of {manifest.Cells.Count} in {folder}: {prepared.Description}");
        System.Console.WriteLine(BackendSummary.Line(backend, manifest.Threads));
        try
        {
            var finished = cell.Kind == CellKind.Dense
                ? Dense(prepared, cell, folder, started, cancellationToken)
                : Method(manifest, prepared, cell, folder, started, logger, cancellationToken);
            finished.Write(folder);
            return 0;
        }
        catch (OperationCanceledException e)
        {
            // The record stays "running" and the lock is released: the next run-cell continues from the checkpoint.
            throw new RunInterruptedException(e is TrainingInterruptedException { CheckpointPath: { } path, Step: var step }
                ? $"{cell.Name} stopped at pruning step {step}; checkpoint written to {path}; run the cell again to continue"
                : $"{cell.Name} stopped before its first checkpoint; run the cell again to start it again", e);
        }
        catch (Exception e)
        {
            (started with { Status = CellStatus.Failed, Ended = DateTimeOffset.Now, Failure = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}" }).Write(folder);
            throw;
        }
    }

    private static DateTimeOffset ProcessStartTime()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return new DateTimeOffset(self.StartTime);
    }

    private static CellRecord Dense((ComparisonPlan Plan, Dictionary<string, object> Settings, string Description) prepared, SweepCell cell,
        string folder, CellRecord started, CancellationToken cancellationToken)
    {
        var (test, metric) = ComparisonExperiment.TrainDenseCell(prepared.Plan, prepared.Settings, cell.Seed, new ComparisonStore(folder),
            new ComparisonRunner.QuietProgress(), cancellationToken);
        var ended = DateTimeOffset.Now;
        System.Console.WriteLine($"{cell.Name}: dense test {metric.Name} {metric.Format(test)}, {(ended - started.Started).TotalSeconds:F0} s");
        return started with { Status = CellStatus.Finished, Ended = ended, Metric = metric, DenseTestMetric = test };
    }

    private static CellRecord Method(SweepManifest manifest, (ComparisonPlan Plan, Dictionary<string, object> Settings, string Description) prepared,
        SweepCell cell, string folder, CellRecord started, ILogger logger, CancellationToken cancellationToken)
    {
        var checkpointDirectory = Path.Combine(folder, CheckpointFolder);
        var last = Path.Combine(checkpointDirectory, CheckpointOptions.LastFileName);
        using var resume = File.Exists(last) ? TrainingCheckpoint.Load(last) : null;
        if (resume is not null) System.Console.WriteLine($"resume: continuing from {last} at pruning step {resume.State.Step}");
        var dense = manifest.FolderOf(manifest.Cell(cell.DependsOn[0]));
        var (run, metric) = ComparisonExperiment.RunMethodCell(prepared.Plan, prepared.Settings, prepared.Plan.Methods[0], cell.Seed, new ComparisonStore(dense),
            new CheckpointOptions { Directory = checkpointDirectory, ResumeFrom = resume }, new ComparisonRunner.QuietProgress(), logger, cancellationToken);
        run = run with { Method = cell.Label };
        var ended = DateTimeOffset.Now;
        System.Console.WriteLine(ComparisonRunner.RunLine(cell.Index, manifest.Cells.Count, run, metric, $"{(ended - started.Started).TotalSeconds:F0} s"));
        return started with { Status = CellStatus.Finished, Ended = ended, Metric = metric, Run = run };
    }
}

/// <summary>Another runner holds the cell; the message says who.</summary>
internal sealed class CellBusyException(SweepCell cell, string owner)
    : Exception($"{cell.Name} is being run by another runner ({owner}); left to it")
{
    /// <summary>The exit code of <c>run-cell</c> for a cell left to another runner: EX_TEMPFAIL of sysexits.h, "try again later".</summary>
    public const int ExitCode = 75;
}
