using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The groups of a batch's examples for the loss penalties that compare groups (GroupDRO's groups, the environments of the
/// Gramian invariance penalty): the classes by default (their number is the width of the outputs), or the ids a function
/// of (inputs, targets) gives, with their number.
/// </summary>
internal sealed class BatchGroups
{
    private readonly int? count;
    private readonly Func<Tensor, Tensor, Tensor>? groupOf;

    /// <exception cref="ArgumentOutOfRangeException">The number of groups is below 1.</exception>
    /// <exception cref="ArgumentException">A group function without a number of groups.</exception>
    /// <param name="count">The number of groups; null: the classes.</param>
    /// <param name="groupOf">Group ids of a batch's (inputs, targets); null: the targets.</param>
    /// <param name="countName">The caller's name of <paramref name="count"/>, for the exceptions.</param>
    public BatchGroups(int? count, Func<Tensor, Tensor, Tensor>? groupOf, string countName)
    {
        if (count is < 1) throw new ArgumentOutOfRangeException(countName, count, $"{countName} must be at least 1, got {count}");
        if (groupOf is not null && count is null) throw new ArgumentException($"a group function needs the number of {countName}", countName);
        this.count = count;
        this.groupOf = groupOf;
    }

    /// <summary>The number given, or null for the classes.</summary>
    public int? Count => count;

    /// <summary>The group id (int64 in [0, Count)) of every example of the batch, and the number of groups.</summary>
    /// <exception cref="ArgumentException">The ids are not int64, one per example, or one is out of range.</exception>
    public (Tensor Ids, int Count) Of(RegularizationContext context)
    {
        var total = count ?? (int)context.Outputs.shape[1];
        var targets = context.Targets;
        var ids = groupOf?.Invoke(context.Inputs, targets) ?? targets;
        if (ids.dtype != ScalarType.Int64 || ids.dim() != 1 || ids.shape[0] != targets.shape[0])
            throw new ArgumentException($"group ids must be int64, one per example; got {ids.dtype} [{string.Join(",", ids.shape)}]");
        if (ids.numel() > 0 && (ids.min().item<long>() < 0 || ids.max().item<long>() >= total))
            throw new ArgumentException($"group ids must be in [0, {total}); got {ids.min().item<long>()} to {ids.max().item<long>()}");
        return (ids, total);
    }
}
