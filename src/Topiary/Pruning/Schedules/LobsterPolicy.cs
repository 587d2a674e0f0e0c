using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Topiary.Pruning.Toolkit;

namespace Topiary.Pruning.Schedules;

/// <summary>
/// LOBSTER's pruning schedule (Tartaglione et al., arXiv 2011.09905): when the validation loss has
/// plateaued for <c>pwe</c> evaluations, find by bisection the largest magnitude threshold T whose removal
/// keeps the validation loss ≤ (1 + <c>twt</c>)·L (<see cref="ThresholdBisection"/>), and prune every
/// |w| &lt; T. There is no target sparsity: the loss decides. Differences from the reference code: the
/// plateau is measured in Topiary's evaluations (every E batches) rather than epochs, and the best state is
/// not restored on a plateau (the run's checkpoint selection keeps the smallest model at the bound instead).
/// </summary>
public sealed class LobsterPolicy : PruningPolicy
{
    private readonly PlateauDetector plateau;

    /// <summary>Creates the policy with tolerated worsening twt ≥ 0 and plateau patience pwe ≥ 0.</summary>
    public LobsterPolicy(double tolerance, int patience)
    {
        if (!(tolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "twt must be ≥ 0");
        Tolerance = tolerance;
        plateau = new PlateauDetector(patience);
    }

    /// <summary>twt.</summary>
    public double Tolerance { get; }

    /// <summary>Per-layer sparsity bounds the pruning respects (none by default).</summary>
    public LayerLimits? Limits { get; init; }

    /// <inheritdoc />
    public override string Name => "lobster";

    /// <inheritdoc />
    public override bool MayPruneAfterStep(PruningContext context) => false;

    /// <inheritdoc />
    public override bool AtEvaluation(PruningContext context, EvaluationResult validation)
    {
        if (!plateau.Observe(validation.Loss)) return false;
        var found = ThresholdBisection.Search(context.Masks, () => context.Validate().Loss, Tolerance, limits: Limits, importance: context.Importance);
        plateau.Reset();
        if (found.Count == 0) return false;
        UnstructuredPruner.Prune(context.Masks, PruningAmount.OfCount(found.Count), context.Importance, limits: Limits);
        context.Logger.LogDebug("step {Step}: loss plateau, threshold {T} removes {Count} (loss {Loss} ≤ {Bound}), {Remaining} remain",
            context.Step, found.Threshold, found.Count, found.Loss, found.Bound, Percent.Of(context.Masks.Density));
        return true;
    }

    /// <inheritdoc />
    public override JsonObject SaveState() => new() { ["best"] = double.IsFinite(plateau.Best) ? plateau.Best : null, ["stale"] = plateau.Stale };

    /// <inheritdoc />
    public override void LoadState(JsonObject state) =>
        plateau.Restore(state["best"]?.GetValue<double>() ?? double.PositiveInfinity, state["stale"]?.GetValue<int>() ?? 0);
}
