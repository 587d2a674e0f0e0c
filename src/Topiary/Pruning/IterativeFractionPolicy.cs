using Microsoft.Extensions.Logging;
using Topiary.Pruning.Toolkit;

namespace Topiary.Pruning;

/// <summary>
/// The pruning rule of Bonetta et al. (arXiv 2204.04977), as in the authors' code: at every
/// evaluation, if the validation metric is better than the bound B, remove the fraction t of the
/// remaining weights with the smallest magnitude, ranked globally; otherwise keep training so the
/// metric can recover. After k crops the density is (1 − t)^k. A recipe may bound each layer's sparsity
/// (<see cref="Limits"/>) or rank per layer (<see cref="Ranking"/>); the crop then goes through
/// <see cref="UnstructuredPruner"/>, and the density can stay above (1 − t)^k when layers are at their maximum.
/// <see cref="MaxSparsity"/> stops the crops at a chosen size (not in the paper, which crops until the bound stops it).
/// </summary>
public sealed class IterativeFractionPolicy : PruningPolicy
{
    /// <summary>Creates the policy with crop fraction t ∈ (0, 1).</summary>
    public IterativeFractionPolicy(double cropFraction)
    {
        if (!(cropFraction > 0 && cropFraction < 1)) throw new ArgumentOutOfRangeException(nameof(cropFraction), cropFraction, "the crop fraction must lie in (0, 1)");
        CropFraction = cropFraction;
    }

    /// <summary>t.</summary>
    public double CropFraction { get; }

    /// <summary>Per-layer sparsity bounds (a recipe's <c>limits</c>); null: none, as in the paper.</summary>
    public LayerLimits? Limits { get; init; }

    /// <summary>Global (the paper's) or per-layer ranking of the crop.</summary>
    public RankingScope Ranking { get; init; } = RankingScope.Global;

    /// <summary>
    /// When set, s in (0, 1): the crops stop once the prunable sparsity reaches s, the last one clipped to land on it
    /// (round(s × total) pruned), and training goes on under the fixed mask. Null (the default, the paper's rule): the
    /// crops go on as long as the metric beats the bound.
    /// </summary>
    public double? MaxSparsity
    {
        get => maxSparsity;
        init
        {
            if (value is { } s && !(s > 0 && s < 1)) throw new ArgumentOutOfRangeException(nameof(MaxSparsity), s, "the maximum sparsity must lie in (0, 1)");
            maxSparsity = value;
        }
    }

    private readonly double? maxSparsity;

    /// <inheritdoc />
    public override string Name => "iterative";

    /// <inheritdoc />
    public override bool MayPruneAfterStep(PruningContext context) => false;

    /// <inheritdoc />
    public override bool AtEvaluation(PruningContext context, EvaluationResult validation)
    {
        if (!context.Floor.AllowsPruning(validation.Metric)) return false;
        var amount = PruningAmount.OfFraction(CropFraction);
        if (MaxSparsity is { } s)
        {
            var masks = context.Masks;
            var (total, alive) = (masks.Total, masks.Remaining);
            var owed = (long)Math.Round(s * total, MidpointRounding.AwayFromZero) - (total - alive);
            if (owed <= 0) return false;
            // A fraction, not a count: with per-layer ranking a count would be taken from every tensor.
            if (owed < amount.Resolve(alive)) amount = PruningAmount.OfFraction((double)owed / alive);
        }
        var removed = UnstructuredPruner.Prune(context.Masks, amount, context.Importance, Ranking, Limits);
        context.Logger.LogDebug("step {Step}: validation metric {Metric} beats the bound, pruned {Removed} parameters, {Remaining} remain",
            context.Step, validation.Metric, removed, Percent.Of(context.Masks.Density));
        return removed > 0;
    }
}
