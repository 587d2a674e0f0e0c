using Topiary.Models;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
using static TorchSharp.torch;

namespace Topiary.Tests.Toolkit;

public class UnstructuredPruningTests
{
    [Fact]
    public void Global_magnitude_pruning_of_0_9_zeros_exactly_90_percent_of_the_selection_and_the_smallest()
    {
        manual_seed(21);
        using var model = new LeNet300();
        var masks = Prune.Attach(model);
        try
        {
            var before = cat(masks.Entries.Select(e => e.Parameter.detach().abs().flatten()).ToArray()).clone();
            var removed = Prune.Unstructured(masks, PruningAmount.OfFraction(0.9));
            var expected = (long)Math.Round(0.9 * masks.Total, MidpointRounding.AwayFromZero);
            Assert.Equal(expected, removed);
            Assert.Equal(masks.Total - expected, masks.Remaining);
            var zeros = masks.Entries.Sum(e => e.Parameter.eq(0).sum().item<long>());
            Assert.Equal(expected, zeros);
            var flat = cat(masks.Entries.Select(e => e.Mask.flatten()).ToArray());
            Assert.True(before.masked_select(flat.eq(0)).max().item<float>() <= before.masked_select(flat.ne(0)).min().item<float>());
        }
        finally
        {
            Prune.Remove(model);
        }
    }

    [Fact]
    public void Ties_are_broken_by_position_so_the_same_entries_go_every_time()
    {
        using var layer = nn.Linear(8, 4);
        using (no_grad()) layer.weight!.fill_(0.5f);
        var masks = new PruningMasks(new LayerSelector().Select(layer));
        UnstructuredPruner.Prune(masks, PruningAmount.OfCount(10));
        // All equal: the first ten positions in flat order are removed.
        var flat = masks.Entries[0].Mask.flatten();
        Assert.Equal(0, flat.narrow(0, 0, 10).sum().item<float>());
        Assert.Equal(22, flat.narrow(0, 10, 22).sum().item<float>());
        masks.Dispose();
    }

    [Fact]
    public void Per_layer_scope_zeros_90_percent_of_each_layer()
    {
        manual_seed(22);
        using var model = new LeNet300();
        using var masks = new PruningMasks(new LayerSelector().Select(model));
        Prune.Unstructured(masks, PruningAmount.OfFraction(0.9), scope: RankingScope.PerLayer);
        foreach (var e in masks.Entries)
        {
            var n = e.Mask.numel();
            Assert.Equal(n - (long)Math.Round(0.9 * n, MidpointRounding.AwayFromZero), e.Mask.count_nonzero().item<long>());
        }
    }

    [Fact]
    public void Per_layer_limits_cap_global_ranking_and_enforce_a_minimum()
    {
        manual_seed(23);
        using var model = new LeNet300();
        using var masks = new PruningMasks(new LayerSelector().Select(model));
        var limits = new LayerLimits
        {
            Default = new SparsityLimits(0, 0.95),
            Overrides = new[] { ("fc3.*", new SparsityLimits(0.5, 0.6)) },
        };
        Prune.Unstructured(masks, PruningAmount.OfFraction(0.97), limits: limits);
        var sparsity = masks.Entries.ToDictionary(e => e.Name, e => 1 - e.Mask.mean().item<float>());
        Assert.All(sparsity.Values, s => Assert.True(s <= 0.95 + 1e-6, $"sparsity {s} above the cap"));
        Assert.InRange(sparsity["fc3.weight"], 0.5 - 1e-6, 0.6 + 1e-6);
    }

    [Fact]
    public void Random_and_user_scores_are_criteria_too()
    {
        using var layer = nn.Linear(10, 10);
        using var masks = new PruningMasks(new LayerSelector().Select(layer));
        var scores = new Dictionary<string, Tensor> { ["weight"] = arange(100, dtype: float32).reshape(10, 10).flip(0, 1) };
        Prune.Unstructured(masks, PruningAmount.OfCount(5), Importance.FromScores(scores));
        // The five lowest scores are the last five positions.
        Assert.Equal(0, masks.Entries[0].Mask.flatten().narrow(0, 95, 5).sum().item<float>());
        using var other = new PruningMasks(new LayerSelector().Select(layer));
        Assert.Equal(30, Prune.Random(other, PruningAmount.OfFraction(0.3), seed: 7));
    }
}
