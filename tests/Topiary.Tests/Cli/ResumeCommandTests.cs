using System.Diagnostics;
using System.Text.Json.Nodes;
using Topiary.Checkpoints;
using Topiary.Training;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

/// <summary>
/// A real <c>topiary prune</c> child process is killed (SIGKILL) or terminated (SIGTERM) partway and
/// resumed with <c>--resume</c>; its report must equal that of an uninterrupted run, timing aside.
/// </summary>
public class ResumeCommandTests
{
    private static string[] RunArguments(string data, string output) =>
    [
        "prune", "--data", data, "--subset", "1000", "--model", "lenet300", "--dense-epochs", "1", "--epochs", "4",
        "--batch-size", "50", "--eval-every", "6", "--floor", "0.5", "--crop-fraction", "0.2", "--patience", "100",
        "--threads", "1", "--out", output,
    ];

    [Fact]
    public async Task A_killed_and_a_terminated_run_resume_to_the_same_report_as_an_uninterrupted_one()
    {
        using var dir = new TestDirectory();
        var data = dir.File("data");
        SyntheticIdx.Write(data, trainCount: 1100, testCount: 300);

        var whole = dir.File("whole");
        var reference = CliProcess.Run(RunArguments(data, whole));
        Assert.True(reference.ExitCode == 0, reference.StandardError);

        // A process kill: nothing runs on the way out, only the checkpoints already on disk survive.
        var killed = dir.File("killed");
        using (var process = CliProcess.Start(RunArguments(data, killed)))
        {
            // Drained so that a full pipe never blocks the child.
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            CheckpointWait.Until(process, Path.Combine(killed, "checkpoint", CheckpointOptions.LastFileName), minimumStep: 6);
            process.Kill();
            process.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(killed, "report.json")), "the run ended before it could be killed");
        var resumed = CliProcess.Run("prune", "--resume", killed);
        Assert.True(resumed.ExitCode == 0, resumed.StandardError);
        Assert.Contains("continuing from", resumed.StandardOutput);
        Assert.Equal(ReportWithoutTiming(whole), ReportWithoutTiming(killed));

        // SIGTERM: the run writes a checkpoint, says how to resume and exits 143.
        var terminated = dir.File("terminated");
        using (var process = CliProcess.Start(RunArguments(data, terminated)))
        {
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            CheckpointWait.Until(process, Path.Combine(terminated, "checkpoint", CheckpointOptions.LastFileName), minimumStep: 6);
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) kill.WaitForExit();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "SIGTERM did not end the run");
            Assert.Equal(143, process.ExitCode);
            var lines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains(lines, l => l.Contains("SIGTERM") && l.Contains($"topiary prune --resume {terminated}"));
        }
        var terminatedResume = CliProcess.Run("prune", "--resume", terminated);
        Assert.True(terminatedResume.ExitCode == 0, terminatedResume.StandardError);
        Assert.Equal(ReportWithoutTiming(whole), ReportWithoutTiming(terminated));
    }

    [Fact]
    public void Resume_problems_exit_2_with_one_line_naming_the_flag_or_file()
    {
        using var dir = new TestDirectory();
        var missing = CliProcess.Run("prune", "--resume", dir.File("nothing"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--resume", missing.StandardError);

        var mixed = CliProcess.Run("prune", "--resume", dir.Path, "--lr", "0.1");
        Assert.Equal(2, mixed.ExitCode);
        Assert.Contains("--lr", mixed.StandardError);

        Directory.CreateDirectory(dir.File("checkpoint"));
        File.WriteAllText(dir.File("checkpoint/recipe.json"), """{"options": {"lr": 5}, "threads": 1}""");
        var badRecipe = CliProcess.Run("prune", "--resume", dir.Path);
        Assert.Equal(2, badRecipe.ExitCode);
        Assert.Contains("recipe.json", badRecipe.StandardError);

        File.WriteAllText(dir.File("checkpoint/recipe.json"), """{"options": {"model": "lenet300"}, "threads": 1}""");
        File.WriteAllBytes(dir.File("checkpoint/last.ckpt"), new byte[100]);
        var badCheckpoint = CliProcess.Run("prune", "--resume", dir.Path);
        Assert.Equal(2, badCheckpoint.ExitCode);
        Assert.Contains("last.ckpt", badCheckpoint.StandardError);
        foreach (var r in new[] { missing, mixed, badRecipe, badCheckpoint })
        {
            Assert.Single(r.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.DoesNotContain("   at ", r.StandardError);
        }
    }

    private static string ReportWithoutTiming(string output)
    {
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "report.json")))!.AsObject();
        report.Remove("timing");
        return report.ToJsonString();
    }
}
