using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>The check of loss penalties that read labels as classes (PS-KD's one-hot y, GroupDRO's per-example cross-entropy).</summary>
internal static class ClassTargets
{
    /// <exception cref="ArgumentException">The targets are not int64 class indices, one per row of logits [batch, classes].</exception>
    public static void Require(Tensor outputs, Tensor targets, string regularizer)
    {
        if (targets.dtype != ScalarType.Int64 || targets.dim() != 1 || outputs.dim() != 2 || outputs.shape[0] != targets.shape[0])
            throw new ArgumentException($"{regularizer} needs class-index targets (int64, one per example) and logits [batch, classes]; got targets {targets.dtype} [{string.Join(",", targets.shape)}] and outputs [{string.Join(",", outputs.shape)}]");
    }
}
