using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Topiary.Bench;

/// <summary>
/// <c>topiary compare</c> run three ways in one go, each as its own <c>topiary</c> process on an otherwise idle machine:
/// serial with every core per run (what a user runs), as a local sweep of K processes with the cores divided among
/// them (<c>--local-jobs K</c>), and serial with the sweep's threads per run, whose numbers the sweep must equal
/// (results are deterministic per thread count, not across thread counts). Prints the wall times, the ratio of the
/// sweep to the serial compare, whether the numbers agree run by run, and the cells' overhead: the time each cell's
/// process spent before its work began (starting .NET, reading the data, checking the backend) and after it ended.
/// </summary>
internal static class SweepBenchmark
{
    public static int Run(int jobs, IReadOnlyList<string> compareFlags)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "Topiary.Cli.dll");
        var cores = Environment.ProcessorCount;
        var threadsPerCell = Math.Max(1, cores / jobs);
        var directory = Directory.CreateTempSubdirectory("topiary-sweep-bench-");
        try
        {
            var flags = string.Join(' ', compareFlags);
            Console.WriteLine($"topiary compare {(flags.Length == 0 ? "(defaults)" : flags)} on {cores} cores, {Cpu()}");
            var serial = Compare(cli, directory, "serial", [.. compareFlags, "--threads", I(cores)]);
            Console.WriteLine($"serial compare, {cores} threads per run:                 {serial.Seconds,7:F0} s");
            var swept = Compare(cli, directory, "sweep", [.. compareFlags, "--threads", I(cores), "--local-jobs", I(jobs)]);
            Console.WriteLine($"compare --local-jobs {jobs}, {threadsPerCell} thread{(threadsPerCell == 1 ? "" : "s")} per run:       {swept.Seconds,7:F0} s   ratio {swept.Seconds / serial.Seconds:F2} (goal: at most 0.60)");
            var reference = Compare(cli, directory, "reference", [.. compareFlags, "--threads", I(threadsPerCell)]);
            Console.WriteLine($"serial compare, {threadsPerCell} thread{(threadsPerCell == 1 ? "" : "s")} per run:                  {reference.Seconds,7:F0} s");
            var (same, total, differing) = Agreement(reference.Folder, swept.Folder);
            Console.WriteLine($"numbers of the sweep against the serial compare at {threadsPerCell} thread{(threadsPerCell == 1 ? "" : "s")} per run: {same} of {total} runs equal" +
                (differing.Count == 0 ? "" : $"; differing: {string.Join(", ", differing)}"));
            var (before, after) = Overheads(swept.Folder);
            Console.WriteLine($"cell overhead ({before.Count} cells): before the work median {Median(before):F1} s (max {before.Max():F1} s), " +
                $"beside the run (the seed's split, the dense model, the record) median {Median(after):F2} s; together {before.Sum() + after.Sum():F0} s of {jobs} × {swept.Seconds:F0} s of process time");
            return same == total ? 0 : 1;
        }
        catch (InvalidOperationException e)
        {
            // A compare that failed: its own one-line error and where its cells' logs were, not a stack trace.
            Console.Error.WriteLine($"topiary-bench: error: {e.Message.Split('\n')[0]}");
            return 1;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private sealed record Outcome(string Folder, double Seconds);

    private static Outcome Compare(string cli, DirectoryInfo directory, string name, IReadOnlyList<string> flags)
    {
        var folder = Path.Combine(directory.FullName, name);
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var word in new[] { cli, "compare" }.Concat(flags).Concat(["--out", folder])) start.ArgumentList.Add(word);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"topiary compare ({name}) failed with exit {process.ExitCode}: {error.Result.Trim()}\n{output.Result}");
        return new Outcome(folder, clock.Elapsed.TotalSeconds);
    }

    private static (int Same, int Total, List<string> Differing) Agreement(string reference, string swept)
    {
        static Dictionary<string, string> Runs(string folder)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "comparison.json")));
            return json.RootElement.GetProperty("runs").EnumerateArray().ToDictionary(
                r => $"{r.GetProperty("method").GetString()} seed {r.GetProperty("seed").GetInt32()}",
                r => string.Join(" ", new[] { "dense_test_metric", "val_metric", "test_metric", "remaining_fraction", "test_trajectory" }.Select(k => r.GetProperty(k).ToString())));
        }
        var (a, b) = (Runs(reference), Runs(swept));
        var differing = a.Keys.Where(k => !b.TryGetValue(k, out var other) || other != a[k]).ToList();
        return (a.Count - differing.Count, a.Count, differing);
    }

    private static (List<double> Before, List<double> After) Overheads(string folder)
    {
        var before = new List<double>();
        var after = new List<double>();
        foreach (var file in Directory.GetFiles(Path.Combine(folder, "cells"), "cell.json", SearchOption.AllDirectories))
        {
            var cell = JsonNode.Parse(File.ReadAllText(file))!;
            var started = cell["started"]!.GetValue<DateTimeOffset>();
            before.Add((started - cell["process_started"]!.GetValue<DateTimeOffset>()).TotalSeconds);
            if (cell["run"] is { } run)
                after.Add((cell["ended"]!.GetValue<DateTimeOffset>() - started).TotalSeconds - run["seconds"]!.GetValue<double>());
        }
        return (before, after);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Cpu() =>
        File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "CPU unknown" : "CPU unknown";

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
