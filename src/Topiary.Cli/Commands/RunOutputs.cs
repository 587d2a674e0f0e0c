using System.Text.Json.Nodes;
using Topiary.Cli.Plots;
using Topiary.Experiments;
using Topiary.Quantization;
using Topiary.Reporting;

namespace Topiary.Cli.Commands;

/// <summary>
/// Writes a run's folder. Files are staged in a sibling folder and moved into place at the end,
/// each by an atomic rename, so an interrupted write never leaves a half-written report.
/// </summary>
internal static class RunOutputs
{
    public const string ModelFileName = "model.topiary";

    /// <summary>
    /// Writes the run's folder: report.json, report.md, trajectory.csv, layer-sparsity.png, the metric against the
    /// remaining parameters (accuracy-vs-remaining.png or perplexity-vs-remaining.png) and model.topiary, whose metadata
    /// holds the run's scores and what <c>topiary eval</c> needs to rebuild its held-out data. With
    /// <paramref name="quantization"/> (image models) it also writes the quantized export (<see cref="QuantizedExport"/>)
    /// and adds its measurements to the report, which it returns.
    /// </summary>
    public static (RunReport Report, IReadOnlyList<string> Files) Write(string outDirectory, ExperimentResult result, IExperimentSubject subject,
        QuantizationScheme? quantization = null)
    {
        var report = result.Report;
        var files = Staged(outDirectory, staging =>
        {
            if (quantization is not null)
            {
                var image = subject as ImageSubject ?? throw new ArgumentException($"{subject.Architecture}: quantized export is for image classifiers", nameof(subject));
                report = report with { Quantization = QuantizedExport.Write(staging, image, result.Model, quantization, new JsonObject { ["seed"] = report.Seed }) };
            }
            WriteReports(report, staging);
            if (report.Metric == MetricKind.Accuracy)
                RunPlots.WriteAccuracyVsRemaining(report, Path.Combine(staging, "accuracy-vs-remaining.png"));
            else
                PerplexityPlot.Write(report, Path.Combine(staging, $"{report.Metric.Name}-vs-remaining.png"));
            var metadata = new JsonObject
            {
                ["method"] = report.Method,
                ["seed"] = report.Seed,
                [$"val_{report.Metric.Name}"] = report.Final.Validation,
                [$"test_{report.Metric.Name}"] = report.Final.Test,
                ["remaining_fraction"] = report.Final.RemainingFraction,
            };
            foreach (var (key, value) in subject.ModelMetadata(report)) metadata[key] = value?.DeepClone();
            subject.SaveModel(Path.Combine(staging, ModelFileName), result.Model, result.Masks, metadata);
        });
        return (report, files);
    }

    /// <summary>The files every run writes, whatever its task: report.json, report.md, trajectory.csv, layer-sparsity.png; and gate.png for relevance runs.</summary>
    public static void WriteReports(RunReport report, string directory)
    {
        ReportJson.Write(report, Path.Combine(directory, "report.json"));
        ReportMarkdown.Write(report, Path.Combine(directory, "report.md"));
        TrajectoryCsv.Write(report.Trajectory, report.Metric, Path.Combine(directory, "trajectory.csv"));
        RunPlots.WriteLayerSparsity(report, Path.Combine(directory, "layer-sparsity.png"));
        if (report.Gate is { Evaluations.Count: > 0 }) GatePlot.Write(report, Path.Combine(directory, "gate.png"));
    }

    /// <summary>
    /// Runs <paramref name="writeFiles"/> into a sibling staging folder, then moves each file into
    /// <paramref name="outDirectory"/> by rename; the staging folder is removed whatever happens.
    /// </summary>
    public static IReadOnlyList<string> Staged(string outDirectory, Action<string> writeFiles)
    {
        var staging = $"{Path.TrimEndingDirectorySeparator(outDirectory)}.partial-{Environment.ProcessId}";
        Directory.CreateDirectory(staging);
        try
        {
            writeFiles(staging);
            Directory.CreateDirectory(outDirectory);
            var written = new List<string>();
            foreach (var file in Directory.GetFiles(staging))
            {
                var target = Path.Combine(outDirectory, Path.GetFileName(file));
                File.Move(file, target, overwrite: true);
                written.Add(target);
            }
            return written;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }
}
