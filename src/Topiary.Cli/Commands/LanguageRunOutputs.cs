using System.Text.Json.Nodes;
using Topiary.Cli.Plots;
using Topiary.Reporting;
using Topiary.Serialization;

namespace Topiary.Cli.Commands;

/// <summary>
/// Writes a Transformer run's folder like <see cref="RunOutputs"/> does for images (staged, then
/// renamed into place): report.json, report.md, trajectory.csv, perplexity-vs-remaining.png,
/// layer-sparsity.png and model.topiary (with its vocabulary).
/// </summary>
internal static class LanguageRunOutputs
{
    /// <summary>The settings <c>topiary eval</c> rebuilds the held-out split from, copied into the model file's metadata when set.</summary>
    private static readonly string[] SplitSizes = ["subset", "validation_pairs", "test_pairs"];
    private static readonly string[] SplitModules = ["source", "target"];

    /// <param name="outDirectory">The run's folder.</param>
    /// <param name="report">The run's report.</param>
    /// <param name="saveModel">Writes the model file to the path given, with the metadata given.</param>
    public static IReadOnlyList<string> Write(string outDirectory, RunReport report, Action<string, JsonObject> saveModel) =>
        RunOutputs.Staged(outDirectory, staging =>
        {
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
            if (report.Translation is { } translation) metadata["test_bleu"] = translation.Pruned.Score;
            // "subset" is recorded as "none" when unset; only numbers are sizes.
            foreach (var key in SplitSizes)
                if (report.Hyperparameters.TryGetValue(key, out var value) && value is int n) metadata[key] = n;
            foreach (var key in SplitModules)
                if (report.Hyperparameters.TryGetValue(key, out var value) && value is string directory) metadata[key] = directory;
            saveModel(Path.Combine(staging, RunOutputs.ModelFileName), metadata);
        });
}
