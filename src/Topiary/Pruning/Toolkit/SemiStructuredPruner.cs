using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Pruning.Toolkit;

/// <summary>
/// N:M semi-structured sparsity (Mishra et al. 2021, "Accelerating Sparse Deep Neural Networks", NVIDIA's
/// 2:4): each row of a weight (flattened over its input dimensions) is cut into consecutive blocks of M
/// entries, and only the N with the largest importance in each block are kept.
/// </summary>
public static class SemiStructuredPruner
{
    /// <summary>Keeps N of every M consecutive entries along each row; already-pruned entries rank last.</summary>
    /// <exception cref="PruningSelectionException">N ∉ [1, M], a tensor has fewer than 2 dimensions, or its row length is not a multiple of M.</exception>
    public static void Prune(PruningMasks masks, int n, int m, ImportanceCriterion? importance = null)
    {
        RequirePattern(n, m);
        foreach (var e in masks.Entries)
        {
            if (e.Mask.dim() < 2) throw new PruningSelectionException($"'{e.Name}' is not a weight matrix; N:M sparsity applies to weights only");
            if (e.Mask[0].numel() % m != 0) throw new PruningSelectionException($"'{e.Name}' has rows of {e.Mask[0].numel()} entries, not a multiple of M = {m}");
        }
        PruneEntries(masks.Entries, n, m, importance ?? Importance.Magnitude);
        masks.ApplyToWeights();
    }

    /// <summary>
    /// The entries N:M can apply to: weight tensors (two or more dimensions) whose rows, flattened over the input
    /// dimensions, are a multiple of <paramref name="m"/> entries long. Biases and other tensors stay as they are.
    /// </summary>
    public static IReadOnlyList<MaskedParameter> Eligible(PruningMasks masks, int m) =>
        masks.Entries.Where(e => e.Mask.dim() >= 2 && e.Mask[0].numel() % m == 0).ToList();

    /// <summary>Keeps N of every M along each row of the <see cref="Eligible"/> entries only; returns the entries it pruned.</summary>
    /// <exception cref="PruningSelectionException">N ∉ [1, M].</exception>
    public static IReadOnlyList<MaskedParameter> PruneEligible(PruningMasks masks, int n, int m, ImportanceCriterion? importance = null)
    {
        RequirePattern(n, m);
        var eligible = Eligible(masks, m);
        PruneEntries(eligible, n, m, importance ?? Importance.Magnitude);
        masks.ApplyToWeights();
        return eligible;
    }

    private static void RequirePattern(int n, int m)
    {
        if (m < 1 || n < 1 || n > m) throw new PruningSelectionException($"N:M sparsity needs 1 ≤ N ≤ M, got {n}:{m}");
    }

    private static void PruneEntries(IEnumerable<MaskedParameter> entries, int n, int m, ImportanceCriterion importance)
    {
        using var d = NewDisposeScope();
        using var _ = no_grad();
        foreach (var e in entries)
        {
            var rowLength = e.Mask[0].numel();
            var rows = e.Mask.shape[0];
            var scores = importance(e).to(float32).reshape(rows, rowLength / m, m).clone();
            scores.masked_fill_(e.Mask.reshape(rows, rowLength / m, m).eq(HeldScalar.Of(0)), HeldScalar.Of(float.NegativeInfinity));
            var (_, order) = scores.sort(2, descending: true, stable: true);
            var chosen = order.narrow(2, 0, n);
            var keep = zeros_like(scores).scatter_(2, chosen, ones_like(chosen, dtype: scores.dtype));
            e.Mask.mul_(keep.view_as(e.Mask));
        }
    }
}
