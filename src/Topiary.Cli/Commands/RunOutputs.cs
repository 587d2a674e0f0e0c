using System.Text.Json.Nodes;
using Topiary.Cli.Plots;
using Topiary.Data;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Training;

namespace Topiary.Cli.Commands;

/// <summary>
/// Writes a run's folder. Files are staged in a sibling folder and moved into place at the end,
/// each by an atomic rename, so an interrupted write never leaves a half-written report.
/// </summary>
internal static class RunOutputs
{
    public const string ModelFileName = "model.topiary";

    public static IReadOnlyList<string> Write(string outDirectory, ExperimentResult result, ImageClassificationData data) =>
        Staged(outDirectory, staging =>
        {
            var report = result.Report;
            WriteReports(report, staging);
            RunPlots.WriteAccuracyVsRemaining(report, Path.Combine(staging, "accuracy-vs-remaining.png"));
            var metadata = new JsonObject
            {
                ["method"] = report.Method,
                ["seed"] = report.Seed,
                ["dataset"] = data.Directory,
                ["val_accuracy"] = report.Final.ValAccuracy,
                ["test_accuracy"] = report.Final.TestAccuracy,
                ["remaining_fraction"] = report.Final.RemainingFraction,
            };
            ModelFile.Save(Path.Combine(staging, ModelFileName), result.ModelName, data.ImageSize, data.Classes, result.Model, result.Masks, metadata);
        });

    /// <summary>The files every run writes, whatever its task: report.json, report.md, trajectory.csv, layer-sparsity.png.</summary>
    public static void WriteReports(RunReport report, string directory)
    {
        ReportJson.Write(report, Path.Combine(directory, "report.json"));
        ReportMarkdown.Write(report, Path.Combine(directory, "report.md"));
        TrajectoryCsv.Write(report.Trajectory, Path.Combine(directory, "trajectory.csv"));
        RunPlots.WriteLayerSparsity(report, Path.Combine(directory, "layer-sparsity.png"));
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
