using static TorchSharp.torch;

namespace Topiary.Pruning;

/// <summary>
/// Global unstructured magnitude pruning, as <c>torch.nn.utils.prune.global_unstructured</c> with
/// L1 importance: ranks |w| of all still-unpruned entries across every masked layer and removes
/// the smallest. Ties are broken by position (layer order, then flat index), so runs repeat exactly.
/// </summary>
public static class GlobalMagnitudePruner
{
    /// <summary>
    /// Removes round(<paramref name="fraction"/> × remaining) entries with the smallest magnitude
    /// and zeros them in the weights. Returns how many entries were removed.
    /// </summary>
    public static long PruneFraction(PruningMasks masks, double fraction)
    {
        if (!(fraction > 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the fraction to prune must lie in (0, 1)");
        return PruneCount(masks, (long)Math.Round(fraction * masks.Remaining, MidpointRounding.AwayFromZero));
    }

    /// <summary>Removes exactly <paramref name="count"/> still-unpruned entries with the smallest magnitude.</summary>
    public static long PruneCount(PruningMasks masks, long count)
    {
        if (count <= 0) return 0;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var flatMask = cat(masks.Entries.Select(e => e.Mask.flatten()).ToArray());
        var scores = cat(masks.Entries.Select(e => e.Parameter.detach().abs().flatten().to(float32)).ToArray());
        scores.masked_fill_(flatMask.eq(0), float.PositiveInfinity);
        var alive = flatMask.count_nonzero().item<long>();
        count = Math.Min(count, alive);
        // A stable sort keeps equal magnitudes in position order: the tie-break is deterministic.
        var (_, order) = scores.sort(0, descending: false, stable: true);
        flatMask.index_fill_(0, order.narrow(0, 0, count), 0);

        long offset = 0;
        foreach (var entry in masks.Entries)
        {
            var n = entry.Mask.numel();
            entry.Mask.copy_(flatMask.narrow(0, offset, n).view_as(entry.Mask));
            offset += n;
        }
        masks.ApplyToWeights();
        return count;
    }
}
