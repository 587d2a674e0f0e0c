using System.Diagnostics;
using Topiary.Checkpoints;
using Topiary.Training;

namespace Topiary.Tests.Support;

/// <summary>Waits for a child process's run to write a checkpoint at a given step, to interrupt it there.</summary>
internal static class CheckpointWait
{
    /// <summary>Returns once <paramref name="last"/> holds a checkpoint at <paramref name="minimumStep"/> or later; fails if the process ends first.</summary>
    public static void Until(Process process, string last, long minimumStep)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(3))
        {
            Assert.False(process.HasExited, $"the run exited (code {(process.HasExited ? process.ExitCode : 0)}) before its checkpoint reached step {minimumStep}");
            if (File.Exists(last))
            {
                try
                {
                    using var checkpoint = TrainingCheckpoint.Load(last);
                    if (checkpoint.State.Step >= minimumStep) return;
                }
                catch (CheckpointException)
                {
                    // Caught between writes; the next look sees the whole file (checkpoints are written atomically).
                }
            }
            Thread.Sleep(20);
        }
        throw new TimeoutException($"no checkpoint at step {minimumStep} in 3 minutes");
    }
}
