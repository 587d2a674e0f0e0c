using TorchSharp.Modules;
using Topiary.Optimization;

namespace Topiary.Experiments;

/// <summary>Builds the optimizer a <see cref="PruningOptions"/> names.</summary>
public static class OptimizerFactory
{
    /// <summary>The optimizers <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "adam", "sgd", "muon", "steepest" };

    /// <summary>Adam, SGD with momentum, Muon or steepest descent under per-tensor norms over <paramref name="parameters"/>.</summary>
    public static MaskableOptimizer Create(PruningOptions options, IEnumerable<Parameter> parameters) => options.Optimizer switch
    {
        "adam" => new AdamOptimizer(parameters, options.LearningRate),
        "sgd" => new SgdOptimizer(parameters, options.LearningRate, options.Momentum),
        "muon" => new MuonOptimizer(parameters, options.LearningRate, momentum: options.Momentum),
        "steepest" => new SteepestDescentOptimizer(parameters, options.LearningRate),
        _ => throw new PruningOptionException(nameof(PruningOptions.Optimizer), $"unknown optimizer '{options.Optimizer}' (expected one of: {string.Join(", ", Names)})"),
    };
}
