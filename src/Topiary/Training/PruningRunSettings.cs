using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
using TorchSharp.Modules;

namespace Topiary.Training;

/// <summary>
/// Everything a pruning run needs beyond the model and its data: the method, the bound, the budget and cadence, which
/// parameters, and the optimizer. <see cref="PruningLoop"/> and <see cref="PruningRunner"/> run it.
/// </summary>
public sealed record PruningRunSettings
{
    /// <summary>What to regularize and how to prune.</summary>
    public required PruningMethod Method { get; init; }

    /// <summary>The validation bound and the metric's direction.</summary>
    public required MetricFloor Bound { get; init; }

    /// <summary>The epoch budget of the pruning phase. Default 12.</summary>
    public int Epochs { get; init; } = 12;

    /// <summary>Optimizer steps between evaluations. Default 100.</summary>
    public int EvaluationInterval { get; init; } = 100;

    /// <summary>The run stops after this many evaluations without a new smallest model at the bound. Default 25.</summary>
    public int Patience { get; init; } = 25;

    /// <summary>Mini-batch size, for tasks that batch their own data (the catalogue's). Default 100.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>Seed of the batch order, for tasks that order their own data. Default 1234.</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>Whether to measure the test metric right before every pruning event (the report's test curve; reporting only).</summary>
    public bool TestCurve { get; init; }

    /// <summary>
    /// The size-for-size protocol: at each of its sizes that a pruning event crosses, the model is cropped to the size,
    /// fine-tuned without the regularizer and measured (<see cref="PruningOutcome.SizeResults"/>); null for none.
    /// </summary>
    public SizeProtocol? Sizes { get; init; }

    /// <summary>The pruned parameters (default: weights and biases of Linear, Conv and Embedding layers).</summary>
    public LayerSelector? Prunable { get; init; }

    /// <summary>The regularized parameters (default: the pruned ones).</summary>
    public LayerSelector? Regularized { get; init; }

    /// <summary>Builds the run's optimizer over the model's parameters; the run owns and disposes it. Default: Adam, lr 1e-3.</summary>
    public Func<IReadOnlyList<Parameter>, OptimizerAccess> Optimizer { get; init; } =
        parameters => OptimizerAccess.Of(new AdamOptimizer(parameters, 1e-3), owns: true);

    /// <summary>Checks every setting.</summary>
    /// <exception cref="PruningMethodException">A setting is out of range; the message names it.</exception>
    public void Validate()
    {
        Method.Validate();
        Require(Epochs >= 0, nameof(Epochs), $"must be ≥ 0, got {Epochs}");
        Require(EvaluationInterval >= 1, nameof(EvaluationInterval), $"must be at least 1, got {EvaluationInterval}");
        Require(Patience >= 1, nameof(Patience), $"must be at least 1, got {Patience}");
        Require(BatchSize >= 1, nameof(BatchSize), $"must be at least 1, got {BatchSize}");
        Require(!double.IsNaN(Bound.Bound), nameof(Bound), "must be a number");
        Sizes?.Validate();
    }

    private static void Require(bool condition, string property, string reason)
    {
        if (!condition) throw new PruningMethodException(nameof(PruningRunSettings), property, reason);
    }
}
