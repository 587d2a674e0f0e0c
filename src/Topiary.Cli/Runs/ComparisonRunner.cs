using System.Globalization;
using Microsoft.Extensions.Logging;
using Topiary.Backend;
using Topiary.Cli.Commands;
using Topiary.Cli.Plots;
using Topiary.Cli.Settings;
using Topiary.Cli.Sweeps;
using Topiary.Comparison;
using Topiary.Reporting;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli.Runs;

/// <summary>
/// What every comparison shares, whatever the model: the recorded settings, and running the plan with one line per
/// finished run and the three files.
/// </summary>
internal static class ComparisonRunner
{
    /// <summary><c>topiary compare</c> for every model: each method's options, the model's subjects, then the plan.</summary>
    public static int Run(CompareSettings settings, ILogger logger, CancellationToken cancellationToken)
    {
        if (settings.Resume is { } directory) settings = RunConfiguration.Resumed(settings, directory, "compare");
        if (settings.LocalJobs is { } jobs) return LocalSweepRunner.Compare(settings, jobs, logger, cancellationToken);
        var prepared = Prepare(settings, logger);
        return Execute(settings, prepared.Plan, prepared.Settings, prepared.Description, logger, cancellationToken);
    }

    /// <summary>A comparison's plan from its settings (data read, threads set), with the settings it records and its first line.</summary>
    public static (ComparisonPlan Plan, Dictionary<string, object> Settings, string Description) Prepare(CompareSettings settings, ILogger logger)
    {
        var perMethod = settings.MethodLabels.ToDictionary(m => m, settings.ForMethod);
        var dense = settings.Dense();
        foreach (var options in perMethod.Values) options.Validate();
        var prepared = ModelRuns.For(settings.ModelName, logger).Prepare(settings, dense);
        TorchBackend.SetThreads(settings.ThreadCount);
        var recorded = Settings(settings, dense, perMethod);
        foreach (var (key, value) in prepared.Settings) recorded[key] = value;
        var plan = new ComparisonPlan(prepared.Architecture, prepared.Dataset, settings.MethodLabels, settings.SeedList, dense, m => perMethod[m],
            prepared.SubjectFor);
        return (plan, recorded, prepared.Description);
    }

    /// <summary>The settings every comparison records: model, seeds, budget, and each method's own options.</summary>
    public static Dictionary<string, object> Settings(CompareSettings compare, PruningOptions dense, IReadOnlyDictionary<string, PruningOptions> perMethod)
    {
        var inv = CultureInfo.InvariantCulture;
        var settings = new Dictionary<string, object>
        {
            ["model"] = compare.ModelName,
            ["seeds"] = string.Join(",", compare.SeedList),
            ["subset"] = compare.SubsetOrDefault is { } s ? s : "none",
            ["threads"] = compare.ThreadCount,
            ["dense_epochs"] = dense.DenseEpochs,
            ["dense_optimizer"] = $"{dense.Optimizer.Name} lr {dense.Optimizer.LearningRate.ToString(inv)}"
                + (dense.DenseSchedule == LearningRateSchedule.Constant ? "" : $", {dense.DenseSchedule.Spelling()} schedule"),
            ["epochs"] = dense.Epochs,
            ["batch_size"] = dense.BatchSize,
            ["eval_every"] = dense.EvalEvery,
            ["patience"] = dense.Patience,
        };
        if (compare.Protocol is { } protocol)
            settings["size_protocol"] = $"sizes {string.Join(", ", protocol.Sizes.Select(s => s.ToString(inv)))}; {protocol.FineTuneSteps} fine-tuning steps at each (Adam lr {protocol.LearningRate.ToString(inv)}, regularizer off, mask fixed)";
        foreach (var (method, o) in perMethod)
            settings[$"method.{method}"] = $"{o.Method.Describe().ToJsonString()}; optimizer {o.Optimizer.Describe().ToJsonString()}; patience {o.Patience}; scope {o.PrunedScope}";
        return settings;
    }

    /// <summary>Runs the plan, printing a line per finished run and keeping the JSON and Markdown on disk after each; then writes all three files.</summary>
    private static int Execute(CompareSettings compare, ComparisonPlan plan, Dictionary<string, object> settings, string subject, ILogger logger, CancellationToken cancellationToken)
    {
        var (methods, seeds, outDirectory) = (compare.MethodLabels, compare.SeedList, compare.OutDirectory);
        var backend = TorchBackend.EnsureVerified(logger);
        System.Console.WriteLine($"topiary {ToolInfo.Version} compare: {subject}, methods {string.Join(", ", methods)}, seeds {string.Join(", ", seeds)}");
        System.Console.WriteLine(BackendSummary.Line(backend, compare.ThreadCount));
        var total = methods.Count * seeds.Count;
        var done = 0;
        // The folder keeps every finished run and dense model: the same comparison run into it again (or --resume) continues.
        var store = new ComparisonStore(outDirectory);
        if (compare.Resume is null) RunConfiguration.From(GivenOptions.Text(compare), compare.ThreadCount, "compare").Write(outDirectory);
        var finished = new SynchronousProgress<ComparisonUpdate>(update =>
        {
            var (run, metric) = (update.Run, update.SoFar.Metric);
            System.Console.WriteLine(RunLine(++done, total, run, metric, update.Kept ? "kept from an earlier run" : $"{run.Seconds:F0} s"));
            // Keep what is done on disk, so an interrupted comparison still leaves its finished runs.
            Directory.CreateDirectory(outDirectory);
            ComparisonJson.Write(update.SoFar, Path.Combine(outDirectory, "comparison.json"));
            ComparisonMarkdown.Write(update.SoFar, Path.Combine(outDirectory, "comparison.md"));
        });
        ComparisonReport report;
        try
        {
            report = ComparisonExperiment.Run(plan, settings, new QuietProgress(), finished, logger, cancellationToken, store);
        }
        catch (OperationCanceledException e)
        {
            throw new RunInterruptedException($"stopped after {done} of {total} runs, which are kept in {outDirectory}; continue with: topiary compare --resume {outDirectory}", e);
        }

        WriteResults(report, outDirectory);
        return 0;
    }

    /// <summary>The line a comparison prints when a run ends.</summary>
    public static string RunLine(int done, int total, ComparisonRun run, MetricKind metric, string how) =>
        run.Failure is { } failure ? $"[{done}/{total}] {run.Method,-11} seed {run.Seed}: failed: {failure}, {how}"
            : $"[{done}/{total}] {run.Method,-11} seed {run.Seed}: test {metric.Name} {metric.Format(run.TestMetric)}, remaining {Summary.Percent(run.RemainingFraction)}{(run.MetBound ? "" : " (bound not met)")}, {how}";

    /// <summary>Writes comparison.json, comparison.md and comparison.png into <paramref name="outDirectory"/> and prints the tables.</summary>
    public static void WriteResults(ComparisonReport report, string outDirectory)
    {
        Directory.CreateDirectory(outDirectory);
        var files = new[] { "comparison.json", "comparison.md", "comparison.png" }.Select(f => Path.Combine(outDirectory, f)).ToArray();
        ComparisonJson.Write(report, files[0]);
        ComparisonMarkdown.Write(report, files[1]);
        ComparisonPlot.Write(report, files[2]);
        System.Console.WriteLine();
        System.Console.WriteLine(ComparisonMarkdown.SummaryTable(report));
        if (ComparisonMarkdown.UnprunedSelections(report) is { } unpruned) System.Console.WriteLine(unpruned);
        if (ComparisonMarkdown.MatchedTable(report) is { } matched)
        {
            System.Console.WriteLine($"test {report.Metric.Name} at equal size (seed means, from the test trajectories):");
            System.Console.WriteLine(matched);
        }
        if (ComparisonMarkdown.SizeTable(report) is { } sizes)
        {
            System.Console.WriteLine($"test {report.Metric.Name} size for size (cropped to each size, then the same fine-tuning without the regularizer; paired by seed):");
            System.Console.WriteLine(sizes);
        }
        if (ComparisonMarkdown.PairedTable(report) is { } paired)
        {
            System.Console.WriteLine($"final test {report.Metric.Name} paired by seed against {string.Join(" and ", report.Paired.Select(d => d.Baseline).Distinct())} (95% Student-t interval):");
            System.Console.WriteLine(paired);
        }
        System.Console.WriteLine($"time: {report.SecondsTotal:F0} s");
        System.Console.WriteLine($"wrote {outDirectory}/: {string.Join(", ", files.Select(Path.GetFileName))}");
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>Per-step progress is dropped: a comparison prints one line per finished run.</summary>
    internal sealed class QuietProgress : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) { }
    }
}
