using Topiary.Pruning.Toolkit;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Pruning.Schedules;

/// <summary>The threshold a <see cref="ThresholdBisection"/> found.</summary>
/// <param name="Threshold">T: every unpruned |w| below it is removed (0 when nothing can go).</param>
/// <param name="Count">How many entries that removes.</param>
/// <param name="Loss">Validation loss with them removed.</param>
/// <param name="Bound">(1 + twt) × the loss before.</param>
/// <param name="Trials">Validations spent.</param>
public sealed record ThresholdSearchResult(double Threshold, long Count, double Loss, double Bound, int Trials);

/// <summary>
/// LOBSTER's loss-aware threshold (Tartaglione et al., arXiv 2011.09905, reference code
/// <c>threshold_scheduler.py</c>): the largest magnitude threshold T such that the validation loss after
/// zeroing every unpruned |w| &lt; T stays ≤ (1 + twt)·L, L the loss now. The search bisects on the number k
/// of smallest magnitudes removed (T = the k-th smallest unpruned |w|, ties by position), which is the same
/// set of thresholds at a resolution of one weight; each trial is undone exactly.
/// </summary>
public static class ThresholdBisection
{
    /// <summary>Finds T; the masks and weights are left as they were.</summary>
    /// <param name="masks">The masked parameters.</param>
    /// <param name="validationLoss">Validation loss of the model as it is now.</param>
    /// <param name="tolerance">twt ≥ 0.</param>
    /// <param name="maxTrials">Upper bound on validations.</param>
    /// <param name="limits">Per-layer sparsity bounds the removal respects.</param>
    /// <param name="importance">What is ranked (default |w|, LOBSTER's); T is then the k-th smallest score.</param>
    public static ThresholdSearchResult Search(PruningMasks masks, Func<double> validationLoss, double tolerance, int maxTrials = 16, LayerLimits? limits = null,
        ImportanceCriterion? importance = null)
    {
        if (!(tolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "twt must be ≥ 0");
        var bound = (1 + tolerance) * validationLoss();
        long low = 0, high = masks.Remaining;   // loss(low) ≤ bound is known; high is the first count not yet shown feasible
        var lowLoss = bound / (1 + tolerance);
        var trials = 1;
        using var backup = new MaskedWeightsBackup(masks);
        while (high > low && trials < maxTrials)
        {
            var mid = low + (high - low + 1) / 2;
            UnstructuredPruner.Prune(masks, PruningAmount.OfCount(mid), importance, limits: limits);
            var loss = validationLoss();
            trials++;
            backup.Restore();
            if (loss <= bound)
            {
                low = mid;
                lowLoss = loss;
            }
            else
            {
                high = mid - 1;
            }
        }
        return new ThresholdSearchResult(low == 0 ? 0 : KthScore(masks, low, importance ?? Importance.Magnitude), low, lowLoss, bound, trials);
    }

    private static double KthScore(PruningMasks masks, long k, ImportanceCriterion importance)
    {
        using var scope = NewDisposeScope();
        var scores = cat(masks.Entries.Select(e => importance(e).flatten().to(float64).masked_select(e.Mask.flatten().ne(HeldScalar.Of(0)))).ToArray());
        return scores.kthvalue(k, 0).values.item<double>();
    }
}
