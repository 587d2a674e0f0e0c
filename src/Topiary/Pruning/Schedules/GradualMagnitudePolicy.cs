using Microsoft.Extensions.Logging;
using System.Text.Json.Nodes;
using Topiary.Pruning.Toolkit;

namespace Topiary.Pruning.Schedules;

/// <summary>
/// Gradual magnitude pruning (GMP, Zhu and Gupta 2017, arXiv 1710.01878): at every pruning step of a
/// <see cref="PolynomialSparsitySchedule"/> the globally smallest |w| are removed until the sparsity
/// reaches s_t; after t0 + nΔt the mask stays fixed and the network fine-tunes.
/// </summary>
public sealed class GradualMagnitudePolicy(PolynomialSparsitySchedule schedule) : PruningPolicy
{
    /// <summary>The schedule followed.</summary>
    public PolynomialSparsitySchedule Schedule { get; } = schedule;

    /// <summary>Global ranking (default, as in the flagship's harness) or every layer to s_t (Zhu and Gupta's per-layer form).</summary>
    public RankingScope Ranking { get; init; } = RankingScope.Global;

    /// <summary>Per-layer sparsity bounds the pruning respects (none by default).</summary>
    public LayerLimits? Limits { get; init; }

    /// <inheritdoc />
    public override string Name => "gmp";

    /// <inheritdoc />
    public override bool MayPruneAfterStep(PruningContext context) => Schedule.IsPruningStep(context.Step);

    /// <inheritdoc />
    public override bool AfterStep(PruningContext context)
    {
        if (!MayPruneAfterStep(context)) return false;
        var masks = context.Masks;
        var removed = UnstructuredPruner.PruneToSparsity(masks, Schedule.SparsityAt(context.Step), Ranking, Limits, context.Importance);
        context.Logger.LogDebug("step {Step}: GMP target sparsity {Target}, pruned {Removed}, {Remaining} remain",
            context.Step, Percent.Of(Schedule.SparsityAt(context.Step)), removed, Percent.Of(masks.Density));
        return removed > 0;
    }

    /// <inheritdoc />
    public override JsonObject SaveState() => new();
}
