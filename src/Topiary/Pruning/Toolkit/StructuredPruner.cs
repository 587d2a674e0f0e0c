using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Pruning.Toolkit;

/// <summary>
/// Ln-norm structured pruning (<c>torch.nn.utils.prune.ln_structured</c>; Li et al. 2017 "Pruning Filters for
/// Efficient ConvNets" for n = 1): each tensor is cut into slices along <c>dim</c> (dim 0 = output
/// neurons of a Linear weight, filters of a conv weight; dim 1 = input features or channels), the norm
/// ‖w_slice‖_n = (Σ|w|^n)^(1/n) ranks them, and whole slices with the smallest norm are zeroed.
/// </summary>
public static class StructuredPruner
{
    /// <summary>
    /// Removes <paramref name="amount"/> of the still-alive slices of each selected tensor (a slice is alive
    /// while any of its entries is unpruned). Returns how many slices were removed over all tensors.
    /// </summary>
    /// <param name="masks">The tensors to prune.</param>
    /// <param name="amount">Fraction or count of each tensor's alive slices.</param>
    /// <param name="n">Norm order, &gt; 0 (or <see cref="double.PositiveInfinity"/> for the max norm).</param>
    /// <param name="dim">Slicing dimension; every selected tensor must have it.</param>
    public static long Prune(PruningMasks masks, PruningAmount amount, double n = 2, int dim = 0)
    {
        if (!(n > 0)) throw new PruningSelectionException($"the norm order n must be > 0, got {n}");
        using var d = NewDisposeScope();
        using var _ = no_grad();
        long removed = 0;
        foreach (var e in masks.Entries)
        {
            if (dim < 0 || dim >= e.Mask.dim())
                throw new PruningSelectionException($"'{e.Name}' has {e.Mask.dim()} dimension(s), so it cannot be pruned along dim {dim}");
            var slices = e.Mask.shape[dim];
            var weights = e.Parameter.detach().mul(e.Mask).transpose(0, dim).reshape(slices, -1).to(float64).abs();
            var norms = double.IsPositiveInfinity(n) ? weights.amax(new long[] { 1 }) : weights.pow(HeldScalar.Of(n)).sum(1).pow(HeldScalar.Of(1 / n));
            var alive = e.Mask.transpose(0, dim).reshape(slices, -1).sum(1).gt(HeldScalar.Of(0));
            norms.masked_fill_(alive.logical_not(), HeldScalar.Of(double.PositiveInfinity));
            var k = amount.Resolve(alive.count_nonzero().item<long>());
            if (k == 0) continue;
            var (_, order) = norms.sort(0, descending: false, stable: true);
            e.Mask.index_fill_(dim, order.narrow(0, 0, k), HeldScalar.Of(0));
            removed += k;
        }
        masks.ApplyToWeights();
        return removed;
    }
}
