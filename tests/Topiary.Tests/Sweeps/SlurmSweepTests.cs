using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Topiary.Tests.Support;
using Xunit.Abstractions;
using static Topiary.Tests.Sweeps.SweepFixture;

namespace Topiary.Tests.Sweeps;

/// <summary>
/// Sweeps on a real Slurm (a one-node cluster from <c>scripts/slurm-local.sh</c>): the dense array, the dependent
/// array of the runs, collect, and a cancelled cell resubmitted alone.
/// </summary>
public partial class SlurmSweepTests(ITestOutputHelper output)
{
    [SlurmFact]
    public void A_sweep_run_as_Slurm_job_arrays_collects_to_the_numbers_of_a_serial_compare()
    {
        using var dir = new TestDirectory();
        var data = SmallData(dir);
        var serial = dir.File("serial");
        Ok(CliProcess.Run(["compare", .. Flags(data), "--threads", "1", "--out", serial]), "serial compare");
        var sweep = dir.File("sweep");
        Ok(CliProcess.Run(["sweep", "plan", .. Flags(data), "--out", sweep]), "plan");
        var manifest = Path.Combine(sweep, "sweep.json");

        var clock = Stopwatch.StartNew();
        var submitted = CliProcess.Run("sweep", "slurm", manifest, "--mem", "2G", "--submit");
        Ok(submitted, "sweep slurm --submit");
        var jobs = JobIds(submitted.StandardOutput);
        WaitUntilGone(jobs, sweep);
        var wall = clock.Elapsed.TotalSeconds;

        var collected = CliProcess.Run("sweep", "collect", manifest);
        Assert.True(collected.ExitCode == 0, $"collect: exit {collected.ExitCode}: {collected.StandardError}\n{collected.StandardOutput}\n{Logs(sweep)}");
        Assert.True(Complete(sweep));
        Assert.Equal(Numbers(serial), Numbers(sweep));
        output.WriteLine($"Slurm sweep of {Cells(manifest).Count} cells (2 dense, 4 runs), submission to the last job's end: {wall:F1} s; {Overhead(sweep)}");
    }

    [SlurmFact]
    public void A_cancelled_cell_is_named_by_collect_and_resubmitted_alone()
    {
        using var dir = new TestDirectory();
        var sweep = dir.File("sweep");
        Ok(CliProcess.Run(["sweep", "plan", .. Flags(SmallData(dir), seeds: 1), "--out", sweep]), "plan");
        var manifest = Path.Combine(sweep, "sweep.json");
        // One run cell at a time, so that cell 2 is still pending when it is cancelled.
        var submitted = CliProcess.Run("sweep", "slurm", manifest, "--mem", "2G", "--max-running", "1", "--submit");
        Ok(submitted, "sweep slurm --submit");
        var (dense, cells) = JobIds(submitted.StandardOutput);
        Run("scancel", $"{cells}_2");
        WaitUntilGone((dense, cells), sweep);

        var partial = CliProcess.Run("sweep", "collect", manifest);
        Assert.Equal(1, partial.ExitCode);
        Assert.Contains("cell 2 (gmp seed 1234): not started", partial.StandardOutput);
        Assert.Contains("sweep incomplete: 1 of 3 cells have not finished", partial.StandardError);
        Assert.False(Complete(sweep));

        var again = Run("sbatch", "--parsable", "--array=2", Path.Combine(sweep, "slurm", "cells.sbatch")).Trim().Split(';')[0];
        WaitUntilGone((again, again), sweep);
        var complete = CliProcess.Run("sweep", "collect", manifest);
        Assert.True(complete.ExitCode == 0, $"collect: exit {complete.ExitCode}: {complete.StandardError}\n{complete.StandardOutput}\n{Logs(sweep)}");
        Assert.True(Complete(sweep));
        Assert.Equal(2, Numbers(sweep).Count);
    }

    private static (string Dense, string Cells) JobIds(string submitted)
    {
        var match = SubmittedLine().Match(submitted);
        Assert.True(match.Success, $"no job ids in: {submitted}");
        return (match.Groups[1].Value, match.Groups[2].Value);
    }

    private static void WaitUntilGone((string Dense, string Cells) jobs, string sweep)
    {
        var clock = Stopwatch.StartNew();
        while (Run("squeue", "-h", "-j", $"{jobs.Dense},{jobs.Cells}", "-o", "%i %T").Trim().Length > 0)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException($"the Slurm jobs did not end in 5 minutes\n{Logs(sweep)}");
            Thread.Sleep(250);
        }
    }

    /// <summary>Per cell, the seconds between its process start and its work, and around its run (from the cells' records).</summary>
    private static string Overhead(string sweep)
    {
        var records = Directory.GetFiles(Path.Combine(sweep, "cells"), "cell.json", SearchOption.AllDirectories).Select(f => JsonNode.Parse(File.ReadAllText(f))!).ToList();
        var before = records.Select(r => (r["started"]!.GetValue<DateTimeOffset>() - r["process_started"]!.GetValue<DateTimeOffset>()).TotalSeconds).Order().ToList();
        var total = records.Select(r => (r["ended"]!.GetValue<DateTimeOffset>() - r["process_started"]!.GetValue<DateTimeOffset>()).TotalSeconds).Order().ToList();
        return $"per cell, process start to work start: median {before[before.Count / 2]:F1} s; process start to end: median {total[total.Count / 2]:F1} s";
    }

    private static string Logs(string sweep)
    {
        var logs = Path.Combine(sweep, "logs");
        return Directory.Exists(logs) ? string.Join("\n", Directory.GetFiles(logs).Select(f => $"--- {Path.GetFileName(f)}\n{File.ReadAllText(f)}")) : "(no logs)";
    }

    private static string Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)}: exit {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    [GeneratedRegex(@"submitted dense cells as job (\d+) and run cells as job (\d+)")]
    private static partial Regex SubmittedLine();
}
