using Topiary.Pruning;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli.Runs;

/// <summary>The settings every pruning run records in its report, whatever its model.</summary>
internal static class TrainingRecord
{
    public static IEnumerable<KeyValuePair<string, object>> Settings(PruningOptions o, int? subset, string? from, int threads) => new Dictionary<string, object>
    {
        ["method"] = o.Method,
        ["reg"] = o.Regularizers ?? "none",
        ["gamma"] = o.Gamma,
        ["alpha"] = o.Alpha,
        ["gamma_decay"] = o.GammaDecay,
        ["test_curve"] = o.TestCurve,
        ["scope"] = o.PrunedScope == ParameterScope.Weights ? "weights" : "all",
        ["crop_fraction"] = o.CropFraction,
        ["eval_every"] = o.EvalEvery,
        ["patience"] = o.Patience,
        ["dense_epochs"] = from is null ? o.DenseEpochs : 0,
        ["epochs"] = o.Epochs,
        ["batch_size"] = o.BatchSize,
        ["lr"] = o.LearningRate,
        ["optimizer"] = o.Optimizer,
        ["momentum"] = o.Momentum,
        ["seed"] = o.Seed,
        ["subset"] = subset is { } s ? s : "none",
        ["from"] = from ?? "none",
        ["threads"] = threads,
    };
}
