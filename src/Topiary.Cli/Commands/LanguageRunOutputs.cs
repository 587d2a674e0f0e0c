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
    public static IReadOnlyList<string> Write(string outDirectory, LanguageExperimentResult result) =>
        RunOutputs.Staged(outDirectory, staging =>
        {
            var report = result.Experiment.Report;
            RunOutputs.WriteReports(report, staging);
            PerplexityPlot.Write(report, Path.Combine(staging, "perplexity-vs-remaining.png"));
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
        });
}
