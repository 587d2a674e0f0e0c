using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Pruning.Toolkit;

/// <summary>
/// Unstructured pruning by an importance criterion (magnitude |w| as in Han et al. 2015, random, or user
/// scores), per tensor or with one global ranking, within per-tensor sparsity limits. Pruned entries get
/// score +∞ so they are never counted twice; ties go to the earlier position (tensor order, then flat
/// index), so a run repeats exactly.
/// </summary>
public static class UnstructuredPruner
{
    /// <summary>
    /// Removes <paramref name="amount"/> of the still-unpruned entries (resolved over all selected tensors
    /// for <see cref="RankingScope.Global"/>, over each tensor for <see cref="RankingScope.PerLayer"/>)
    /// with the lowest importance, then zeros them in the weights. Every tensor first reaches its minimum
    /// sparsity; none exceeds its maximum. Returns how many entries were removed.
    /// </summary>
    public static long Prune(PruningMasks masks, PruningAmount amount, ImportanceCriterion? importance = null,
        RankingScope scope = RankingScope.Global, LayerLimits? limits = null)
    {
        importance ??= Importance.Magnitude;
        limits ??= LayerLimits.None;
        using var d = NewDisposeScope();
        using var _ = no_grad();
        var aliveAtStart = masks.Remaining;
        long removed = 0;
        // Minimum sparsity first: those entries are owed whatever the ranking says.
        foreach (var e in masks.Entries)
        {
            var floorCount = (long)Math.Ceiling(limits.For(e.Name).Min * e.Mask.numel() - 1e-9);
            var pruned = e.Mask.numel() - e.Mask.count_nonzero().item<long>();
            if (floorCount > pruned) removed += PruneLowest(new[] { e }, importance, floorCount - pruned, limits);
        }
        if (scope == RankingScope.Global)
        {
            removed += PruneLowest(masks.Entries, importance, Math.Max(0, amount.Resolve(aliveAtStart) - removed), limits);
        }
        else
        {
            foreach (var e in masks.Entries)
                removed += PruneLowest(new[] { e }, importance, amount.Resolve(e.Mask.count_nonzero().item<long>()), limits);
        }
        masks.ApplyToWeights();
        return removed;
    }

    /// <summary>
    /// Prunes until the selection reaches <paramref name="sparsity"/> (fraction of entries pruned): over all tensors
    /// together for <see cref="RankingScope.Global"/>, or each tensor to that sparsity for <see cref="RankingScope.PerLayer"/>.
    /// Never un-prunes. Returns how many entries were removed.
    /// </summary>
    public static long PruneToSparsity(PruningMasks masks, double sparsity, RankingScope scope = RankingScope.Global,
        LayerLimits? limits = null, ImportanceCriterion? importance = null)
    {
        if (!(sparsity is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(sparsity), sparsity, "a sparsity must lie in [0, 1]");
        if (scope == RankingScope.Global)
        {
            var owed = (long)Math.Round(sparsity * masks.Total, MidpointRounding.AwayFromZero) - (masks.Total - masks.Remaining);
            return owed > 0 ? Prune(masks, PruningAmount.OfCount(owed), importance, RankingScope.Global, limits) : 0;
        }
        using var d = NewDisposeScope();
        using var _ = no_grad();
        long removed = 0;
        foreach (var e in masks.Entries)
        {
            var n = e.Mask.numel();
            var owed = (long)Math.Round(sparsity * n, MidpointRounding.AwayFromZero) - (n - e.Mask.count_nonzero().item<long>());
            removed += PruneLowest(new[] { e }, importance ?? Importance.Magnitude, owed, limits ?? LayerLimits.None);
        }
        masks.ApplyToWeights();
        return removed;
    }

    /// <summary>Greedy in global score order, skipping entries of tensors that reached their maximum sparsity.</summary>
    private static long PruneLowest(IReadOnlyList<MaskedParameter> entries, ImportanceCriterion importance, long count, LayerLimits limits)
    {
        if (count <= 0) return 0;
        var flatMask = cat(entries.Select(e => e.Mask.flatten()).ToArray());
        var scores = cat(entries.Select(e => importance(e).flatten().to(float32)).ToArray());
        scores.masked_fill_(flatMask.eq(HeldScalar.Of(0)), HeldScalar.Of(float.PositiveInfinity));
        var layerOf = cat(entries.Select((e, i) => full(e.Mask.numel(), HeldScalar.Of(i), dtype: int64, device: e.Mask.device)).ToArray());
        var (_, order) = scores.sort(0, descending: false, stable: true);
        var sortedLayer = layerOf.index_select(0, order);
        var sortedAlive = flatMask.index_select(0, order).ne(HeldScalar.Of(0));
        // An entry is eligible while its tensor's running count stays below the tensor's remaining capacity.
        var eligible = sortedAlive.clone();
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            var pruned = e.Mask.numel() - e.Mask.count_nonzero().item<long>();
            var capacity = (long)Math.Floor(limits.For(e.Name).Max * e.Mask.numel() + 1e-9) - pruned;
            var inLayer = sortedLayer.eq(HeldScalar.Of(i)).logical_and(sortedAlive);
            var rank = inLayer.to(int64).cumsum(0);
            eligible = eligible.logical_and(inLayer.logical_not().logical_or(rank.le(HeldScalar.Of(capacity))));
        }
        var candidates = order.masked_select(eligible);
        count = Math.Min(count, candidates.shape[0]);
        if (count == 0) return 0;
        flatMask.index_fill_(0, candidates.narrow(0, 0, count), HeldScalar.Of(0));
        FlatMasks.Scatter(entries, flatMask);
        return count;
    }
}
