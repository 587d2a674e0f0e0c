using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>The check of loss penalties that read a batch's targets as classes (PS-KD, GroupDRO, neural collapse, ELLE).</summary>
internal static class ClassTargets
{
    /// <summary><paramref name="targets"/>, checked to hold one integer class index for each of <paramref name="examples"/> examples.</summary>
    /// <exception cref="ArgumentException">The targets are not a vector of integer class indices, one per example.</exception>
    public static Tensor Require(Tensor targets, long examples, string regularizer)
    {
        if (targets.dim() != 1 || targets.shape[0] != examples || targets.is_floating_point() || targets.is_complex())
            throw new ArgumentException($"regularizer '{regularizer}' needs class-index targets, one integer class index per example (a classifier's); got targets of shape [{string.Join(", ", targets.shape)}] ({targets.dtype}) for {examples} examples");
        return targets;
    }

    /// <summary>Checks that <paramref name="outputs"/> are logits [batch, classes] and <paramref name="targets"/> their class indices.</summary>
    /// <exception cref="ArgumentException">The outputs are not two-dimensional, or the targets not one class index per row.</exception>
    public static void Require(Tensor outputs, Tensor targets, string regularizer)
    {
        if (outputs.dim() != 2)
            throw new ArgumentException($"regularizer '{regularizer}' needs class-index targets and logits [batch, classes]; got outputs [{string.Join(", ", outputs.shape)}]");
        Require(targets, outputs.shape[0], regularizer);
    }
}
