using System.Text.Json.Nodes;
using Topiary.Cli.Runs;
using Topiary.Comparison;
using Topiary.Reporting;

namespace Topiary.Cli.Sweeps;

/// <summary>
/// <c>topiary sweep collect</c>: merges the finished cells of a manifest into the comparison.json, comparison.md and
/// plot that <c>topiary compare</c> writes, in the manifest's folder. Cells that have not finished are listed by index
/// with what became of them, and the files then say <c>"complete": false</c>: a partial result is never reported as
/// complete.
/// </summary>
internal static class SweepCollector
{
    /// <summary>A cell that has not finished, and why.</summary>
    public sealed record Unfinished(SweepCell Cell, string Why);

    /// <summary>The report over the finished run cells, and the cells that have not finished.</summary>
    public static (ComparisonReport? Report, IReadOnlyList<Unfinished> Missing) Collect(SweepManifest manifest)
    {
        manifest.RequireUnchanged();
        var records = manifest.Cells.ToDictionary(c => c.Index, c => CellRecord.Read(manifest.FolderOf(c)));
        var missing = manifest.Cells.Where(c => records[c.Index] is not { Status: CellStatus.Finished })
            .Select(c => new Unfinished(c, Why(manifest, c, records[c.Index]))).ToList();
        var runs = manifest.RunCells.Select(c => records[c.Index]).Where(r => r is { Status: CellStatus.Finished, Run: not null }).Select(r => r!).ToList();
        if (runs.Count == 0) return (null, missing);
        var finished = records.Values.Where(r => r is { Status: CellStatus.Finished, Ended: not null }).Select(r => r!).ToList();
        var seconds = (finished.Max(r => r.Ended!.Value) - finished.Min(r => r.Started)).TotalSeconds;
        var first = runs[0];
        var report = ComparisonExperiment.Merge(first.Model ?? "", first.Dataset ?? "", first.Metric ?? MetricKind.Accuracy,
            manifest.RunCells.Select(c => c.Label).Distinct().ToList(), manifest.Cells.Select(c => c.Seed).Distinct().ToList(),
            Settings(manifest, records), runs.Select(r => r.Run!).ToList(), first.Backend, seconds, complete: missing.Count == 0);
        return (report, missing);
    }

    /// <summary>Collects, writes the files and prints the tables; throws <see cref="SweepIncompleteException"/> (after writing) when cells are missing.</summary>
    public static int Run(SweepManifest manifest)
    {
        var (report, missing) = Collect(manifest);
        if (report is not null) ComparisonRunner.WriteResults(report, manifest.Directory);
        if (missing.Count == 0) return 0;
        System.Console.WriteLine($"{missing.Count} of {manifest.Cells.Count} cells have not finished{(report is null ? " (no run has finished: nothing written)" : "; the files say \"complete\": false")}:");
        foreach (var (cell, why) in missing) System.Console.WriteLine($"  {cell.Name}: {why}");
        System.Console.WriteLine($"run them with: topiary sweep run {manifest.Path} (or topiary sweep run-cell {manifest.Path} --index I, or resubmit their Slurm array tasks)");
        throw new SweepIncompleteException(manifest, missing);
    }

    private static string Why(SweepManifest manifest, SweepCell cell, CellRecord? record)
    {
        var folder = manifest.FolderOf(cell);
        if (CellLock.IsHeld(folder)) return $"running ({CellLock.Owner(folder)})";
        return record switch
        {
            null => "not started",
            { Status: CellStatus.Failed, Failure: var failure } => $"failed: {failure}",
            _ => "interrupted (its runner stopped or was killed); run it again to continue",
        };
    }

    /// <summary>
    /// The settings of the whole sweep from the cells' own: what every cell shares once, each run's method settings under
    /// its label, the seeds, the grid, and where a setting differs between cells (a grid axis that is not a method
    /// setting), its values.
    /// </summary>
    private static Dictionary<string, object> Settings(SweepManifest manifest, IReadOnlyDictionary<int, CellRecord?> records)
    {
        var values = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        var settings = new Dictionary<string, object>();
        foreach (var cell in manifest.Cells)
        {
            if (records[cell.Index]?.Settings is not { } recorded) continue;
            foreach (var (key, value) in recorded)
            {
                if (key == "seeds") continue;
                if (key.StartsWith("method.", StringComparison.Ordinal))
                {
                    if (cell.Kind == CellKind.Run) settings[$"method.{cell.Label}"] = value?.DeepClone()!;
                    continue;
                }
                var text = value?.ToJsonString() ?? "null";
                if (!values.TryGetValue(key, out var seen)) values[key] = seen = [];
                if (!seen.Contains(text)) seen.Add(text);
            }
        }
        foreach (var (key, seen) in values)
            settings[key] = seen.Count == 1 ? JsonNode.Parse(seen[0])! : string.Join(" | ", seen.Select(v => JsonNode.Parse(v)?.ToString()));
        settings["seeds"] = string.Join(",", manifest.Cells.Select(c => c.Seed).Distinct());
        if (manifest.Grid.Count > 0) settings["grid"] = string.Join(" ", manifest.Grid.Select(a => $"{a.Flag}={string.Join(",", a.Values)}"));
        settings["sweep"] = $"{manifest.Path} ({manifest.Cells.Count} cells, {manifest.Threads} thread{(manifest.Threads == 1 ? "" : "s")} each)";
        var backends = records.Values.Where(r => r?.Backend is not null).Select(r => $"{r!.Backend!.Cpu}, {r.Backend.OneDnnNote}").Distinct().ToList();
        if (backends.Count > 1) settings["backends"] = string.Join(" | ", backends);
        return settings;
    }
}

/// <summary>Cells of a sweep have not finished; the message lists them.</summary>
internal sealed class SweepIncompleteException(SweepManifest manifest, IReadOnlyList<SweepCollector.Unfinished> missing)
    : Exception($"sweep incomplete: {missing.Count} of {manifest.Cells.Count} cells have not finished ({string.Join("; ", missing.Select(m => $"{m.Cell.Index}: {m.Why}"))})")
{
    /// <summary>The cells that have not finished.</summary>
    public IReadOnlyList<SweepCollector.Unfinished> Missing { get; } = missing;
}
