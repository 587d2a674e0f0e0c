namespace Topiary.Pruning.Toolkit;

/// <summary>
/// Per-layer bounds on sparsity (fraction of a tensor's entries pruned): global ranking never prunes a
/// tensor beyond <see cref="Max"/> (so no layer is cut off, Torch-Pruning's <c>max_pruning_ratio</c>), and
/// every tensor is pruned at least to <see cref="Min"/>.
/// </summary>
/// <param name="Min">Minimum sparsity, in [0, 1].</param>
/// <param name="Max">Maximum sparsity, in [Min, 1].</param>
public sealed record SparsityLimits(double Min = 0, double Max = 1)
{
    /// <summary>No bounds.</summary>
    public static SparsityLimits None { get; } = new();

    /// <summary>Throws when the bounds are not 0 ≤ Min ≤ Max ≤ 1.</summary>
    public SparsityLimits Validated() =>
        Min is >= 0 and <= 1 && Max is >= 0 and <= 1 && Min <= Max ? this
            : throw new PruningSelectionException($"sparsity limits must satisfy 0 ≤ min ≤ max ≤ 1, got min {Min}, max {Max}");
}
