using Topiary.Models;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
using static TorchSharp.torch;

namespace Topiary.Tests.Toolkit;

public class StructuredPruningTests
{
    [Fact]
    public void Ln_structured_zeros_whole_rows_with_the_smallest_norm()
    {
        using var layer = nn.Linear(6, 5);
        using (no_grad())
            layer.weight!.copy_(tensor(new float[] { 3, 1, 4, 1, 5 }).unsqueeze(1).mul(ones(5, 6)));   // row norms ∝ 3,1,4,1,5
        using var masks = new PruningMasks(new LayerSelector().Select(layer));
        Assert.Equal(2, Prune.LnStructured(masks, PruningAmount.OfCount(2), n: 2, dim: 0));
        var rowAlive = masks.Entries[0].Mask.sum(1);
        Assert.Equal(new float[] { 6, 0, 6, 0, 6 }, rowAlive.data<float>().ToArray());
        Assert.Equal(0, layer.weight!.index_select(0, tensor(new long[] { 1, 3 })).abs().sum().item<float>());
    }

    [Fact]
    public void Ln_structured_on_conv_filters_and_input_channels()
    {
        manual_seed(31);
        using var model = new LeNet5();
        using var masks = new PruningMasks(new LayerSelector { ModuleTypes = new[] { "Conv2d" } }.Select(model));
        var norms = masks.Entries.Select(e => e.Parameter.detach().flatten(1).abs().sum(1).clone()).ToList();   // L1 norm per filter
        Prune.LnStructured(masks, PruningAmount.OfFraction(0.5), n: 1, dim: 0);
        for (var i = 0; i < masks.Entries.Count; i++)
        {
            var mask = masks.Entries[i].Mask.flatten(1);
            var alive = mask.amax(new long[] { 1 });
            Assert.True(mask.sum(1).eq(0).logical_or(mask.sum(1).eq(mask.shape[1])).all().item<bool>(), "a filter is partly pruned");
            Assert.True(norms[i].masked_select(alive.eq(0)).max().item<float>() <= norms[i].masked_select(alive.ne(0)).min().item<float>());
            Assert.Equal(mask.shape[0] / 2, alive.eq(0).sum().item<long>());
        }
        // Along dim 1: whole input channels of conv2.
        using var channels = new PruningMasks(new LayerSelector { NamePattern = "conv2.weight" }.Select(model));
        Prune.LnStructured(channels, PruningAmount.OfCount(3), dim: 1);
        Assert.Equal(3, channels.Entries[0].Mask.sum(new long[] { 0, 2, 3 }).eq(0).sum().item<long>());
    }

    [Fact]
    public void N_of_M_leaves_exactly_n_nonzeros_in_every_block_and_keeps_the_largest()
    {
        manual_seed(32);
        using var model = new LeNet300();
        using var masks = new PruningMasks(new LayerSelector().Select(model));
        var before = masks.Entries.Select(e => e.Parameter.detach().abs().clone()).ToList();
        Prune.NOutOfM(masks, 2, 4);
        for (var i = 0; i < masks.Entries.Count; i++)
        {
            var e = masks.Entries[i];
            var blocks = e.Parameter.detach().reshape(e.Parameter.shape[0], -1, 4);
            Assert.True(blocks.ne(0).sum(2).eq(2).all().item<bool>(), $"{e.Name}: a block does not have exactly 2 non-zeros");
            var kept = before[i].reshape(blocks.shape).mul(e.Mask.reshape(blocks.shape));
            var droppedMax = before[i].reshape(blocks.shape).mul(e.Mask.reshape(blocks.shape).logical_not()).amax(new long[] { 2 });
            var keptMin = kept.masked_fill(kept.eq(0), float.PositiveInfinity).amin(new long[] { 2 });
            Assert.True(droppedMax.le(keptMin).all().item<bool>());
        }
    }

    [Fact]
    public void N_of_M_rejects_rows_that_do_not_split_into_blocks()
    {
        using var layer = nn.Linear(6, 3);
        using var masks = new PruningMasks(new LayerSelector().Select(layer));
        var e = Assert.Throws<PruningSelectionException>(() => Prune.NOutOfM(masks, 2, 4));
        Assert.Contains("not a multiple of M = 4", e.Message);
    }
}
