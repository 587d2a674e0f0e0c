using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>Checks that a batch's targets are a classifier's: one integer class index per example.</summary>
internal static class ClassTargets
{
    /// <summary><paramref name="targets"/>, checked to hold one class index for each of <paramref name="examples"/> examples.</summary>
    /// <exception cref="InvalidOperationException">The targets are not a vector of integer class indices, one per example.</exception>
    public static Tensor Require(Tensor targets, long examples, string regularizer)
    {
        if (targets.dim() != 1 || targets.shape[0] != examples || targets.is_floating_point() || targets.is_complex())
            throw new InvalidOperationException($"regularizer '{regularizer}' needs one integer class index per example (a classifier's targets); got targets of shape [{string.Join(", ", targets.shape)}] ({targets.dtype}) for {examples} examples");
        return targets;
    }
}
