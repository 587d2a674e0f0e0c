using Topiary.Checkpoints;
using Topiary.Cli.Commands;
using Topiary.Cli.Settings;
using Topiary.Training;

namespace Topiary.Cli.Runs;

/// <summary>Where a run keeps its checkpoints and its configuration, and what an interrupted run tells the user.</summary>
internal static class RunCheckpoints
{
    public static string Directory(string outDirectory) => Path.Combine(outDirectory, "checkpoint");

    /// <summary>A new run writes its configuration (and refuses a folder that holds another run); a resumed one loads its last checkpoint, if any.</summary>
    public static TrainingCheckpoint? Prepare(string outDirectory, bool resuming, PruneSettings settings, int threads)
    {
        var directory = Directory(outDirectory);
        var last = Path.Combine(directory, CheckpointOptions.LastFileName);
        if (!resuming)
        {
            if (File.Exists(last))
                throw new CliUsageException($"--out: {outDirectory} already holds a run's checkpoint; continue it with --resume {outDirectory} or choose another --out");
            RunConfiguration.From(GivenOptions.Text(settings), threads).Write(outDirectory);
            return null;
        }
        if (!File.Exists(last))
        {
            System.Console.WriteLine($"resume: {outDirectory} has no checkpoint yet (the run stopped before pruning began); starting it again");
            return null;
        }
        var checkpoint = TrainingCheckpoint.Load(last);
        System.Console.WriteLine($"resume: continuing from {last} at pruning step {checkpoint.State.Step}");
        return checkpoint;
    }

    public static RunInterruptedException Interrupted(OperationCanceledException e, string outDirectory)
    {
        var how = $"continue with: topiary prune --resume {outDirectory}";
        return new RunInterruptedException(e is TrainingInterruptedException { CheckpointPath: { } path } saved
            ? $"stopped at pruning step {saved.Step}; checkpoint written to {path}; {how}"
            : $"stopped before the first checkpoint (during dense training); {how} (it starts again)", e);
    }
}
