using Topiary.Augmentation;
using static TorchSharp.torch;

namespace Topiary.Tests.Augmentation;

public class ShiftAndFlipTests
{
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static Tensor Images(long count, int side, int seed) => rand([count, 2, side, side], generator: new Generator((ulong)seed)).add(1);

    [Fact]
    public void Each_image_moves_by_its_own_offset_and_the_fill_comes_in_where_no_pixel_was()
    {
        const int count = 40, side = 7, k = 2;
        using var inputs = Images(count, side, 3);
        var shift = new RandomShift(k, fill: -5);
        using var output = shift.Apply(inputs, seed: 11);
        var (dy, dx) = shift.Shifts(count, seed: 11);
        var input = inputs.data<float>().ToArray();
        var result = output.data<float>().ToArray();
        var (rows, columns) = (dy.data<long>().ToArray(), dx.data<long>().ToArray());
        for (var n = 0; n < count; n++)
            for (var c = 0; c < 2; c++)
                for (var i = 0; i < side; i++)
                    for (var j = 0; j < side; j++)
                    {
                        var (si, sj) = (i - rows[n], j - columns[n]);
                        var expected = si >= 0 && si < side && sj >= 0 && sj < side ? input[((n * 2 + c) * side + si) * side + sj] : -5f;
                        Assert.Equal(expected, result[((n * 2 + c) * side + i) * side + j]);
                    }
        // Every offset in [−K, K] on both axes occurs, and none outside.
        Assert.Equal(Enumerable.Range(-k, 2 * k + 1).Select(v => (long)v), rows.Distinct().Order());
        Assert.Equal(Enumerable.Range(-k, 2 * k + 1).Select(v => (long)v), columns.Distinct().Order());
    }

    [Fact]
    public void A_flip_mirrors_the_chosen_images_and_keeps_the_others()
    {
        const int count = 400;
        using var inputs = Images(count, 5, 4);
        var flip = new HorizontalFlip(0.3);
        using var output = flip.Apply(inputs, seed: 8);
        var chosen = flip.Chosen(count, seed: 8).data<bool>().ToArray();
        for (var n = 0; n < count; n++)
        {
            using var expected = chosen[n] ? inputs[n].flip(2) : inputs[n];
            Assert.True(Same(output[n], expected), $"image {n}");
        }
        Assert.InRange(chosen.Count(c => c) / (double)count, 0.3 - 0.07, 0.3 + 0.07);
        using var never = new HorizontalFlip(0).Apply(inputs, 1);
        using var always = new HorizontalFlip(1).Apply(inputs, 1);
        Assert.True(Same(never, inputs));
        Assert.True(Same(always, inputs.flip(3)));
    }

    [Fact]
    public void The_same_seed_gives_the_same_batch_and_another_seed_another()
    {
        using var inputs = Images(64, 9, 5);
        foreach (IBatchAugmentation augmentation in new IBatchAugmentation[] { new RandomShift(2), new HorizontalFlip(), new AugmentationSequence([new RandomShift(1), new HorizontalFlip()]) })
        {
            using var a = augmentation.Apply(inputs, 21);
            using var b = augmentation.Apply(inputs, 21);
            using var c = augmentation.Apply(inputs, 22);
            Assert.True(Same(a, b));
            Assert.False(Same(a, c));
        }
    }

    [Fact]
    public void A_sequence_applies_its_stages_in_order_each_with_its_own_seed()
    {
        using var inputs = Images(32, 8, 6);
        var (shift, flip, cutout) = (new RandomShift(2), new HorizontalFlip(), new Cutout(3));
        var sequence = new AugmentationSequence([shift, flip, cutout]);
        using var output = sequence.Apply(inputs, 99);
        using var first = shift.Apply(inputs, AugmentationSequence.StageSeed(99, 0));
        using var second = flip.Apply(first, AugmentationSequence.StageSeed(99, 1));
        using var third = cutout.Apply(second, AugmentationSequence.StageSeed(99, 2));
        Assert.True(Same(output, third));
        Assert.Equal(3, new[] { 0, 1, 2 }.Select(i => AugmentationSequence.StageSeed(99, i)).Append(99UL).Distinct().Count() - 1);
        Assert.Throws<ArgumentException>(() => new AugmentationSequence([]));
    }

    [Fact]
    public void Bad_settings_and_inputs_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomShift(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HorizontalFlip(1.5));
        using var flat = zeros(4, 784);
        Assert.Throws<ArgumentException>(() => new RandomShift(1).Apply(flat, 1));
        Assert.Throws<ArgumentException>(() => new HorizontalFlip().Apply(flat, 1));
    }
}
