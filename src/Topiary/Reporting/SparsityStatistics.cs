using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Reporting;

/// <summary>Counts of total and non-zero parameters, per masked tensor and for the whole model.</summary>
public static class SparsityStatistics
{
    /// <summary>One row per masked parameter, counting exact zeros in the weights.</summary>
    public static IReadOnlyList<LayerSparsity> PerLayer(PruningMasks masks)
    {
        using var scope = NewDisposeScope();
        return masks.Entries.Select(e =>
        {
            var total = e.Parameter.numel();
            var nonzero = e.Parameter.count_nonzero().item<long>();
            return new LayerSparsity(e.Name, e.Parameter.shape, total, nonzero, (double)nonzero / total);
        }).ToList();
    }

    /// <summary>(total, non-zero) over every parameter of the model, masked or not.</summary>
    public static (long Total, long Nonzero) Model(nn.Module model)
    {
        using var scope = NewDisposeScope();
        long total = 0, nonzero = 0;
        foreach (var p in model.parameters())
        {
            total += p.numel();
            nonzero += p.count_nonzero().item<long>();
        }
        return (total, nonzero);
    }
}
