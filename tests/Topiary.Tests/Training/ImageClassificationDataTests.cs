using Topiary.Data;
using Topiary.Tests.Support;

namespace Topiary.Tests.Training;

public class ImageClassificationDataTests
{
    [Fact]
    public void The_validation_split_is_held_out_by_the_seed_and_disjoint_from_training()
    {
        using var a = TinyData.Split(seed: 1);
        using var b = TinyData.Split(seed: 1);
        using var c = TinyData.Split(seed: 2);
        Assert.Equal(120, a.ValidationImages.shape[0]);
        Assert.Equal(1080, a.TrainCount);
        Assert.True(TensorAssert.Same(a.ValidationImages, b.ValidationImages));
        Assert.False(TensorAssert.Same(a.ValidationImages, c.ValidationImages));
        // No validation image appears among the training images.
        var train = a.TrainImages.flatten(1);
        var valid = a.ValidationImages.flatten(1);
        var distances = TorchSharp.torch.cdist(valid, train);
        Assert.True(distances.min().item<float>() > 0);
    }

    [Fact]
    public void A_subset_uses_only_the_first_n_training_images()
    {
        using var data = TinyData.Split(seed: 1, subset: 200);
        Assert.Equal(200, data.TrainCount + data.ValidationImages.shape[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => TinyData.Split(seed: 1, subset: 5000));
    }

    [Fact]
    public void Epoch_batches_cover_every_training_example_once_in_a_seeded_order()
    {
        using var data = TinyData.Split();
        var batches = data.EpochBatches(seed: 4, epoch: 0, batchSize: 100).Select(b => b.data<long>().ToArray()).ToList();
        var all = batches.SelectMany(b => b).ToList();
        Assert.Equal(data.TrainCount, all.Count);
        Assert.Equal(data.TrainCount, all.Distinct().Count());
        Assert.Equal(data.StepsPerEpoch(100), batches.Count);
        var again = data.EpochBatches(4, 0, 100).First().data<long>().ToArray();
        var nextEpoch = data.EpochBatches(4, 1, 100).First().data<long>().ToArray();
        Assert.Equal(batches[0], again);
        Assert.NotEqual(batches[0], nextEpoch);
    }
}
