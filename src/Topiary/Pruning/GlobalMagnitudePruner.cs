using Topiary.Pruning.Toolkit;

namespace Topiary.Pruning;

/// <summary>
/// Global unstructured magnitude pruning, as <c>torch.nn.utils.prune.global_unstructured</c> with
/// L1 importance: ranks |w| of all still-unpruned entries across every masked layer and removes
/// the smallest. Ties are broken by position (layer order, then flat index), so runs repeat exactly. It is the
/// toolkit's <see cref="UnstructuredPruner"/> with magnitude importance, global ranking and no limits, named for the
/// flagship's crop.
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
        return UnstructuredPruner.Prune(masks, PruningAmount.OfFraction(fraction));
    }

    /// <summary>Removes exactly <paramref name="count"/> still-unpruned entries with the smallest magnitude (all of them if fewer remain).</summary>
    public static long PruneCount(PruningMasks masks, long count) =>
        count <= 0 ? 0 : UnstructuredPruner.Prune(masks, PruningAmount.OfCount(Math.Min(count, masks.Remaining)));
}
