using Topiary.Augmentation;
using Topiary.Experiments;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Augmentation;

public class CutoutTests
{
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    // The rows (or columns) an image's square covers, from the mask of one image (H, W).
    private static (int First, int Last)[] Extents(bool[,] mask, bool rows)
    {
        var (h, w) = (mask.GetLength(0), mask.GetLength(1));
        var covered = Enumerable.Range(0, rows ? h : w).Where(i => Enumerable.Range(0, rows ? w : h).Any(j => rows ? mask[i, j] : mask[j, i])).ToList();
        return covered.Count == 0 ? [] : [(covered[0], covered[^1])];
    }

    private static bool[,] Image(Tensor masks, int n)
    {
        var (h, w) = ((int)masks.shape[1], (int)masks.shape[2]);
        var values = masks[n].data<bool>().ToArray();
        var image = new bool[h, w];
        for (var i = 0; i < h; i++) for (var j = 0; j < w; j++) image[i, j] = values[i * w + j];
        return image;
    }

    [Fact]
    public void Each_square_is_a_solid_s_by_s_block_clipped_only_where_it_meets_the_border()
    {
        const int side = 12, size = 4;
        using var masks = new Cutout(size).Mask(400, side, side, seed: 5);
        var (full, clipped) = (0, 0);
        for (var n = 0; n < 400; n++)
        {
            var image = Image(masks, n);
            var (rows, columns) = (Extents(image, rows: true).Single(), Extents(image, rows: false).Single());
            var area = 0;
            for (var i = 0; i < side; i++)
                for (var j = 0; j < side; j++)
                {
                    var inside = i >= rows.First && i <= rows.Last && j >= columns.First && j <= columns.Last;
                    Assert.Equal(inside, image[i, j]);
                    area += inside ? 1 : 0;
                }
            foreach (var (first, last) in new[] { rows, columns })
            {
                var length = last - first + 1;
                Assert.True(length == size || (length < size && (first == 0 || last == side - 1)), $"image {n}: a span of {length} away from the border");
            }
            if (area == size * size) full++; else clipped++;
        }
        // Centres are uniform over all 12 positions per axis, so a square fits a row span with probability 9/12 (cy in 2..10).
        Assert.InRange(full / 400.0, 0.5625 - 0.08, 0.5625 + 0.08);
        Assert.True(clipped > 0);
    }

    [Fact]
    public void The_square_is_filled_in_every_channel_and_every_other_pixel_is_kept()
    {
        using var scope = NewDisposeScope();
        var images = randn(8, 3, 10, 10, generator: new Generator(1));
        var cutout = new Cutout(5, fill: -0.25f);
        var output = cutout.Apply(images, seed: 11);
        var mask = cutout.Mask(8, 10, 10, seed: 11).unsqueeze(1).expand(8, 3, 10, 10);
        Assert.True(output.masked_select(mask).eq(-0.25f).all().item<bool>());
        Assert.True(Same(output.masked_select(mask.logical_not()), images.masked_select(mask.logical_not())));
    }

    [Fact]
    public void Probability_zero_is_the_identity_and_probability_one_half_squares_about_half()
    {
        using var scope = NewDisposeScope();
        var images = randn(500, 1, 8, 8, generator: new Generator(2));
        Assert.True(Same(new Cutout(4, probability: 0).Apply(images, seed: 3), images));
        var squared = new Cutout(4, probability: 0.5).Mask(500, 8, 8, seed: 3).flatten(1).any(1).to(float32).mean().item<float>();
        Assert.InRange(squared, 0.42, 0.58);
    }

    [Fact]
    public void The_same_seed_draws_the_same_squares_and_another_seed_others()
    {
        using var scope = NewDisposeScope();
        var cutout = new Cutout(6, probability: 0.7);
        Assert.True(Same(cutout.Mask(32, 28, 28, seed: 9), cutout.Mask(32, 28, 28, seed: 9)));
        Assert.False(Same(cutout.Mask(32, 28, 28, seed: 9), cutout.Mask(32, 28, 28, seed: 10)));
    }

    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(-3, 1.0)]
    [InlineData(4, 1.5)]
    [InlineData(4, double.NaN)]
    public void Bad_settings_are_refused(int size, double probability) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new Cutout(size, probability));

    [Fact]
    public void Only_training_batches_are_augmented_and_each_batch_alike_however_it_is_reached()
    {
        using var subject = new ImageSubject("lenet300", TinyData.Split(subset: 300), new Cutout(14));
        var plain = new ImageClassificationTask(subject.Data);
        var task = subject.Task;
        Assert.IsType<AugmentedTask>(task);

        var validation = task.ValidationBatches(250).Zip(plain.ValidationBatches(250));
        Assert.All(validation, pair => Assert.True(Same(pair.First.Inputs, pair.Second.Inputs)));
        using var model = subject.CreateModel();
        Assert.Equal(plain.Validate(model), task.Validate(model));
        Assert.Equal(plain.Test(model), task.Test(model));

        // Dense epochs are negative, pruning epochs not: both are augmented.
        foreach (var epoch in new[] { -1, 2 })
        {
            var augmented = task.EpochBatches(4, epoch, 100).ToList();
            var original = plain.EpochBatches(4, epoch, 100).ToList();
            Assert.All(augmented.Zip(original), pair =>
            {
                Assert.True(Same(pair.First.Targets, pair.Second.Targets));
                Assert.False(Same(pair.First.Inputs, pair.Second.Inputs));
            });
            // A resumed run skips batches: the third batch is the same whether or not the first two were drawn.
            var third = task.EpochBatches(4, epoch, 100).Skip(2).First();
            Assert.True(Same(third.Inputs, augmented[2].Inputs));
        }
    }
}
