using Microsoft.Extensions.Logging;
using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;

namespace Topiary.Training;

/// <summary>How a <see cref="PruningSession"/> fits into the user's training.</summary>
public sealed record PruningSessionSettings
{
    /// <summary>
    /// The validation bound B and the metric's direction: pruning goes on while the metric is strictly better than B,
    /// and <see cref="PruningSession.RestoreBest"/> brings back the smallest model that is at least as good
    /// (e.g. <c>new MetricFloor(0.895)</c> for accuracy, <c>new MetricFloor(12.0, HigherIsBetter: false)</c> for perplexity).
    /// </summary>
    public required MetricFloor Bound { get; init; }

    /// <summary>Optimizer steps in one epoch: the length of γ's decay after each pruning event, and of ART's checks.</summary>
    public required int StepsPerEpoch { get; init; }

    /// <summary>The step budget of the pruning phase; needed by <see cref="GradualMagnitudePruning"/> only.</summary>
    public long? TotalSteps { get; init; }

    /// <summary>Steps between the user's evaluations (<see cref="GradualMagnitudePruning"/> prunes at this frequency). Default 100.</summary>
    public int EvaluationInterval { get; init; } = 100;

    /// <summary>After this many evaluations without a new smallest model at the bound, <see cref="PruningSession.ShouldStop"/> turns true. Default 25.</summary>
    public int Patience { get; init; } = 25;

    /// <summary>
    /// The parameters that are pruned. Default: weights and biases of every Linear, Conv1d/2d/3d and Embedding
    /// (normalization layers are left alone; name them here to prune them too).
    /// </summary>
    public LayerSelector? Prunable { get; init; }

    /// <summary>The parameters the regularizer acts on. Default: the same as <see cref="Prunable"/>.</summary>
    public LayerSelector? Regularized { get; init; }

    /// <summary>Re-evaluates the model on the validation split; needed by methods whose schedule tries thresholds (<see cref="LobsterPruning"/>).</summary>
    public Func<EvaluationResult>? Validator { get; init; }

    /// <summary>Receives a debug line per pruning event.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>The selector of the pruned parameters: <see cref="Prunable"/>, or conv/linear/embedding weights and biases.</summary>
    public LayerSelector PrunableSelector => Prunable ?? new LayerSelector { Scope = ParameterScope.WeightsAndBiases };

    /// <summary>Checks every setting.</summary>
    /// <exception cref="PruningMethodException">A setting is out of range; the message names it.</exception>
    public void Validate()
    {
        Require(StepsPerEpoch >= 1, nameof(StepsPerEpoch), $"must be at least 1, got {StepsPerEpoch}");
        Require(TotalSteps is null or >= 0, nameof(TotalSteps), $"must be ≥ 0, got {TotalSteps}");
        Require(EvaluationInterval >= 1, nameof(EvaluationInterval), $"must be at least 1, got {EvaluationInterval}");
        Require(Patience >= 1, nameof(Patience), $"must be at least 1, got {Patience}");
        Require(!double.IsNaN(Bound.Bound), nameof(Bound), "must be a number");
    }

    private static void Require(bool condition, string property, string reason)
    {
        if (!condition) throw new PruningMethodException(nameof(PruningSessionSettings), property, reason);
    }
}
