using System.Text.Json.Nodes;
using Topiary.Pruning;
using Topiary.Experiments;

namespace Topiary.Cli.Runs;

/// <summary>The settings every pruning run records in its report, whatever its model.</summary>
internal static class TrainingRecord
{
    // Parts of a method's description that the report records in their own words (reg, recipe) or not at all.
    private static readonly string[] NotRecorded = ["method", "extra", "schedule", "limits", "ranking"];

    /// <summary>The method, its own settings (only those it takes), the optimizer's, the budget and where the run started.</summary>
    public static IEnumerable<KeyValuePair<string, object>> Settings(PruningOptions o, int? subset, string? from, int threads)
    {
        var settings = new Dictionary<string, object>
        {
            ["method"] = o.Method.Name,
            ["reg"] = o.Method.Extra.Count == 0 ? "none" : string.Join(",", o.Method.Extra.Select(e => e.ToString())),
        };
        foreach (var (key, value) in o.Method.Describe())
            if (!NotRecorded.Contains(key) && Value(value) is { } recorded) settings[key] = recorded;
        settings["test_curve"] = o.TestCurve;
        settings["scope"] = o.PrunedScope == ParameterScope.Weights ? "weights" : "all";
        settings["eval_every"] = o.EvalEvery;
        settings["patience"] = o.Patience;
        settings["dense_epochs"] = from is null ? o.DenseEpochs : 0;
        if (from is null && o.DenseSchedule != LearningRateSchedule.Constant) settings["dense_schedule"] = o.DenseSchedule.Spelling();
        settings["epochs"] = o.Epochs;
        settings["batch_size"] = o.BatchSize;
        settings["lr"] = o.Optimizer.LearningRate;
        settings["optimizer"] = o.Optimizer.Name;
        if (o.Optimizer.MomentumOrNull is { } momentum) settings["momentum"] = momentum;
        settings["seed"] = o.Seed;
        settings["subset"] = subset is { } s ? s : "none";
        settings["from"] = from ?? "none";
        settings["threads"] = threads;
        return settings;
    }

    /// <summary>A setting's JSON value as the report's dictionary holds it: a number, a flag or a text.</summary>
    private static object? Value(JsonNode? node) => node is not JsonValue value ? node?.ToJsonString()
        : value.TryGetValue<bool>(out var flag) ? flag
        : value.TryGetValue<int>(out var whole) ? whole
        : value.TryGetValue<double>(out var number) ? number
        : value.TryGetValue<string>(out var text) ? text
        : value.ToJsonString();
}
