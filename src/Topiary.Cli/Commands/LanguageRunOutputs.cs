using System.Text.Json.Nodes;
using Topiary.Cli.Plots;
using Topiary.Language;
using Topiary.Models;
using Topiary.Reporting;
using Topiary.Serialization;

namespace Topiary.Cli.Commands;

/// <summary>
/// Writes a language-model run's folder like <see cref="RunOutputs"/> does for images (staged, then
/// renamed into place): report.json, report.md, trajectory.csv, perplexity-vs-remaining.png,
/// layer-sparsity.png and model.topiary (with its vocabulary).
/// </summary>
internal static class LanguageRunOutputs
{
    public static IReadOnlyList<string> Write(string outDirectory, LanguageExperimentResult result)
    {
        var report = result.Experiment.Report;
        var staging = $"{Path.TrimEndingDirectorySeparator(outDirectory)}.partial-{Environment.ProcessId}";
        Directory.CreateDirectory(staging);
        try
        {
            ReportJson.Write(report, Path.Combine(staging, "report.json"));
            ReportMarkdown.Write(report, Path.Combine(staging, "report.md"));
            TrajectoryCsv.Write(report.Trajectory, Path.Combine(staging, "trajectory.csv"));
            PerplexityPlot.Write(report, Path.Combine(staging, "perplexity-vs-remaining.png"));
            RunPlots.WriteLayerSparsity(report, Path.Combine(staging, "layer-sparsity.png"));
            var metadata = new JsonObject
            {
                ["method"] = report.Method,
                ["seed"] = report.Seed,
                ["corpus"] = report.Dataset.Directory,
                ["val_perplexity"] = report.Final.ValAccuracy,
                ["test_perplexity"] = report.Final.TestAccuracy,
                ["remaining_fraction"] = report.Final.RemainingFraction,
            };
            // topiary eval rebuilds the held-out split from these.
            if (report.Hyperparameters.TryGetValue("subset", out var subset) && subset is int n) metadata["subset"] = n;
            LanguageModelFile.Save(Path.Combine(staging, RunOutputs.ModelFileName), (TransformerLanguageModel)result.Experiment.Model,
                result.Tokenizer, result.Experiment.Masks, metadata);

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
