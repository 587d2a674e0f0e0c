using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Data;

/// <summary>An image set of the catalogue's data as <see cref="PruningData"/> for <see cref="PruningRunner"/>.</summary>
public static class ImagePruningData
{
    /// <summary>
    /// An image set held in memory (<see cref="ImageClassificationData"/>): training batches of <paramref name="batchSize"/>
    /// in an order fixed by (<paramref name="seed"/>, epoch), and the validation and test splits in batches of 250
    /// (<see cref="Evaluation"/>.Classify says why).
    /// </summary>
    public static PruningData ToPruningData(this ImageClassificationData images, int batchSize = 100, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return PruningData.FromEpochs(epoch => Batches(images.TrainImages, images.TrainLabels, images.EpochBatches(seed, epoch, batchSize)),
            Chunks(images.ValidationImages, images.ValidationLabels), Chunks(images.TestImages, images.TestLabels));
    }

    // Each batch is freed when the next one is asked for: a run uses a batch within its step.
    private static IEnumerable<(Tensor, Tensor)> Batches(Tensor images, Tensor labels, IEnumerable<Tensor> indices)
    {
        foreach (var index in indices)
        {
            using (index)
            using (var inputs = images.index_select(0, index))
            using (var targets = labels.index_select(0, index))
                yield return (inputs, targets);
        }
    }

    private static IEnumerable<(Tensor, Tensor)> Chunks(Tensor images, Tensor labels)
    {
        for (long start = 0; start < images.shape[0]; start += 250)
        {
            var length = Math.Min(250, images.shape[0] - start);
            yield return (images.narrow(0, start, length), labels.narrow(0, start, length));
        }
    }

}
