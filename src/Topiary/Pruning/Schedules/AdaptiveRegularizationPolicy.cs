using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Topiary.Pruning.Toolkit;
using Topiary.Regularization;

namespace Topiary.Pruning.Schedules;

/// <summary>
/// The ART schedule (adaptive regularized training) of HyperSparse (Glandorf et al., arXiv 2308.07163):
/// the HyperSparse strength grows geometrically, λ_e = λ0·η^e, once per check (an epoch by default); at
/// each check a copy magnitude-pruned to the prune rate κ is evaluated, and regularization stops when the
/// pruned copy is at least as good as the unpruned model; the mask of that copy is then fixed and the
/// network fine-tunes without the penalty. Differences from the reference code: both models are measured
/// on the validation split (not the training data), the copy's metric is not averaged over a window, and
/// if the check has not fired by <see cref="ForceAtFraction"/> of the step budget the mask is fixed anyway,
/// so the fine-tuning phase always happens.
/// </summary>
public sealed class AdaptiveRegularizationPolicy : PruningPolicy
{
    private readonly HyperSparsePenalty penalty;
    private readonly bool higherIsBetter;
    private int checks;

    /// <summary>Creates the schedule.</summary>
    /// <param name="penalty">The HyperSparse penalty whose <see cref="HyperSparsePenalty.Multiplier"/> it drives.</param>
    /// <param name="growth">η &gt; 1.</param>
    /// <param name="checkEvery">Optimizer steps between checks (an epoch in the paper).</param>
    /// <param name="higherIsBetter">Direction of the task's metric.</param>
    public AdaptiveRegularizationPolicy(HyperSparsePenalty penalty, double growth, long checkEvery, bool higherIsBetter = true)
    {
        if (!(growth > 1)) throw new ArgumentOutOfRangeException(nameof(growth), growth, "η must be > 1");
        if (checkEvery < 1) throw new ArgumentOutOfRangeException(nameof(checkEvery), checkEvery, "the check interval must be ≥ 1 step");
        this.penalty = penalty;
        this.higherIsBetter = higherIsBetter;
        Growth = growth;
        CheckEvery = checkEvery;
    }

    /// <summary>η.</summary>
    public double Growth { get; }

    /// <summary>Steps between checks.</summary>
    public long CheckEvery { get; }

    /// <summary>Share of the step budget after which the mask is fixed even if the check never fired.</summary>
    public double ForceAtFraction { get; init; } = 0.6;

    /// <summary>True once the mask is fixed (fine-tuning).</summary>
    public bool Terminated { get; private set; }

    /// <inheritdoc />
    public override string Name => "art";

    /// <inheritdoc />
    public override bool MayPruneAfterStep(PruningContext context) => !Terminated && context.Step % CheckEvery == 0;

    /// <inheritdoc />
    public override bool AfterStep(PruningContext context)
    {
        if (!MayPruneAfterStep(context)) return false;
        checks++;
        var masks = context.Masks;
        var dense = context.Validate().Metric;
        var toRemove = (long)Math.Round(penalty.PruneRate * masks.Total, MidpointRounding.AwayFromZero) - (masks.Total - masks.Remaining);
        double pruned;
        using (var backup = new MaskedWeightsBackup(masks))
        {
            UnstructuredPruner.Prune(masks, PruningAmount.OfCount(Math.Max(0, toRemove)), context.Importance);
            pruned = context.Validate().Metric;
            var good = higherIsBetter ? pruned >= dense : pruned <= dense;
            var forced = context.Step >= ForceAtFraction * context.TotalSteps;
            if (good || forced)
            {
                Terminated = true;
                penalty.Multiplier = 0;
                context.Logger.LogDebug("step {Step}: ART stops ({Why}): pruned copy {Pruned} vs unpruned {Dense}; mask fixed at {Remaining}",
                    context.Step, good ? "the pruned copy caught up" : "budget", pruned, dense, Percent.Of(masks.Density));
                return true;
            }
            backup.Restore();
        }
        penalty.Multiplier *= Growth;
        context.Logger.LogDebug("step {Step}: ART λ factor {Factor}, pruned copy {Pruned} vs unpruned {Dense}", context.Step, penalty.Multiplier, pruned, dense);
        return false;
    }

    /// <inheritdoc />
    public override JsonObject SaveState() => new() { ["checks"] = checks, ["terminated"] = Terminated, ["multiplier"] = penalty.Multiplier };

    /// <inheritdoc />
    public override void LoadState(JsonObject state)
    {
        checks = state["checks"]?.GetValue<int>() ?? 0;
        Terminated = state["terminated"]?.GetValue<bool>() ?? false;
        penalty.Multiplier = state["multiplier"]?.GetValue<double>() ?? 1;
    }
}
