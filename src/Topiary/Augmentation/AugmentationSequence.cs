using static TorchSharp.torch;

namespace Topiary.Augmentation;

/// <summary>
/// Several augmentations applied one after another (for example a shift, then a flip, then cutout), each with its own
/// seed derived from the batch's, so that the stages draw independently and the same batch seed gives the same result.
/// </summary>
public sealed class AugmentationSequence : IBatchAugmentation
{
    /// <param name="stages">The augmentations in the order they are applied; at least one.</param>
    /// <exception cref="ArgumentException">There is no stage.</exception>
    public AugmentationSequence(IReadOnlyList<IBatchAugmentation> stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        if (stages.Count == 0) throw new ArgumentException("an augmentation sequence needs at least one stage", nameof(stages));
        Stages = [.. stages];
    }

    /// <summary>The augmentations, in the order they are applied.</summary>
    public IReadOnlyList<IBatchAugmentation> Stages { get; }

    /// <inheritdoc />
    public Tensor Apply(Tensor inputs, ulong seed)
    {
        using var scope = NewDisposeScope();
        var current = inputs;
        for (var i = 0; i < Stages.Count; i++) current = Stages[i].Apply(current, StageSeed(seed, i));
        return current.MoveToOuterDisposeScope();
    }

    /// <summary>The seed of stage <paramref name="stage"/>'s draws for a batch of seed <paramref name="seed"/>.</summary>
    public static ulong StageSeed(ulong seed, int stage) => AugmentedTask.Mix(seed ^ AugmentedTask.Mix((ulong)stage + 1));
}
