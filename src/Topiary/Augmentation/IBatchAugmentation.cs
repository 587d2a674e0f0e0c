using static TorchSharp.torch;

namespace Topiary.Augmentation;

/// <summary>
/// A random change to a training batch's inputs (a data-level regularizer), drawn from a seed only, so that the same
/// seed gives the same batch: a resumed run sees what an uninterrupted one saw. <see cref="AugmentedTask"/> applies
/// one to the training batches of a task and never to its validation or test data.
/// </summary>
public interface IBatchAugmentation
{
    /// <summary>
    /// The augmented copy of <paramref name="inputs"/> (the caller keeps and disposes both), with every random draw
    /// taken from <paramref name="seed"/>.
    /// </summary>
    Tensor Apply(Tensor inputs, ulong seed);
}
