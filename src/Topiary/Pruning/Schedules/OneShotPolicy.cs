using Topiary.Pruning.Toolkit;

namespace Topiary.Pruning.Schedules;

/// <summary>
/// One-shot pruning (Han et al. 2015 without iteration): at the first evaluation the globally smallest |w|
/// are removed down to the target sparsity, then the network only fine-tunes under the fixed mask.
/// </summary>
public sealed class OneShotPolicy : FirstEvaluationPolicy
{
    /// <summary>Creates the policy with a target sparsity in [0, 1).</summary>
    public OneShotPolicy(double targetSparsity)
    {
        if (!(targetSparsity is >= 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(targetSparsity), targetSparsity, "the target sparsity must lie in [0, 1)");
        TargetSparsity = targetSparsity;
    }

    /// <summary>Fraction of the selected entries removed.</summary>
    public double TargetSparsity { get; }

    /// <summary>Global ranking (default) or every layer to the target sparsity.</summary>
    public RankingScope Ranking { get; init; } = RankingScope.Global;

    /// <summary>Per-layer sparsity bounds the pruning respects (none by default).</summary>
    public LayerLimits? Limits { get; init; }

    /// <inheritdoc />
    public override string Name => "one-shot";

    /// <inheritdoc />
    protected override bool PruneOnce(PruningContext context) =>
        UnstructuredPruner.PruneToSparsity(context.Masks, TargetSparsity, Ranking, Limits, context.Importance) > 0;
}
