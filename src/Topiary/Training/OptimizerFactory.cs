using TorchSharp.Modules;
using Topiary.Optimization;

namespace Topiary.Training;

/// <summary>Builds the optimizer a <see cref="PruningOptions"/> names.</summary>
public static class OptimizerFactory
{
    /// <summary>Adam or SGD with momentum over <paramref name="parameters"/>.</summary>
    public static MaskableOptimizer Create(PruningOptions options, IEnumerable<Parameter> parameters) => options.Optimizer switch
    {
        "adam" => new AdamOptimizer(parameters, options.LearningRate),
        "sgd" => new SgdOptimizer(parameters, options.LearningRate, options.Momentum),
        _ => throw new PruningOptionException("optimizer", $"unknown optimizer '{options.Optimizer}' (expected adam or sgd)"),
    };
}
