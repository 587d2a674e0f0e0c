using Topiary.Models;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Tests.Pruning;

public class GlobalMagnitudePrunerTests
{
    [Fact]
    public void After_k_crops_the_density_is_one_minus_t_to_the_k()
    {
        manual_seed(4);
        using var model = new LeNet300();
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
        var total = masks.Total;
        const double t = 0.04;
        for (var k = 1; k <= 30; k++)
        {
            GlobalMagnitudePruner.PruneFraction(masks, t);
            var expected = total * Math.Pow(1 - t, k);
            // Each crop rounds to a whole weight: at most half a weight of drift per crop.
            Assert.InRange(masks.Remaining, expected - 0.5 * k, expected + 0.5 * k);
        }
    }

    [Fact]
    public void The_removed_weights_are_the_globally_smallest_and_are_zero()
    {
        manual_seed(9);
        using var model = new LeNet5();
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.Weights));
        var before = masks.Entries.Select(e => e.Parameter.detach().abs().flatten().clone()).ToList();
        GlobalMagnitudePruner.PruneFraction(masks, 0.5);
        var pruned = cat(masks.Entries.Select((e, i) => before[i].masked_select(e.Mask.flatten().eq(0))).ToArray());
        var kept = cat(masks.Entries.Select((e, i) => before[i].masked_select(e.Mask.flatten().ne(0))).ToArray());
        Assert.True(pruned.max().item<float>() <= kept.min().item<float>());
        foreach (var e in masks.Entries) Assert.Equal(0, e.Parameter.masked_select(e.Mask.eq(0)).abs().sum().item<float>());
        // Layers with larger weights keep more: conv1 (fan-in 25) keeps far more than fc1 (fan-in 800).
        var density = masks.Entries.ToDictionary(e => e.Name, e => e.Mask.mean().item<float>());
        Assert.True(density["conv1.weight"] > density["fc1.weight"]);
    }

    [Fact]
    public void Ties_are_broken_by_position_so_runs_repeat()
    {
        using var layer = nn.Linear(10, 10);
        using (no_grad())
        {
            layer.weight!.fill_(0.5);
            layer.bias!.fill_(0.5);
        }
        using var masks = new PruningMasks(ParameterSelector.Select(layer, ParameterScope.WeightsAndBiases));
        GlobalMagnitudePruner.PruneCount(masks, 37);
        var weightMask = masks.Entries[0].Mask.flatten().data<float>().ToArray();
        Assert.All(weightMask.Take(37), m => Assert.Equal(0f, m));
        Assert.All(weightMask.Skip(37), m => Assert.Equal(1f, m));
        Assert.Equal(10, masks.Entries[1].Mask.sum().item<float>());
    }

    [Fact]
    public void Fractions_outside_zero_one_are_rejected()
    {
        using var layer = nn.Linear(3, 3);
        using var masks = new PruningMasks(ParameterSelector.Select(layer, ParameterScope.Weights));
        Assert.Throws<ArgumentOutOfRangeException>(() => GlobalMagnitudePruner.PruneFraction(masks, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => GlobalMagnitudePruner.PruneFraction(masks, 1));
    }

    [Theory]
    [InlineData("adam")]
    [InlineData("sgd")]
    [InlineData("scion")]
    [InlineData("scion-constrained")]
    [InlineData("scion-na")]
    [InlineData("adam-spectral")]
    [InlineData("fira")]
    public void Pruned_weights_stay_exactly_zero_through_optimizer_steps_with_momentum(string optimizerName)
    {
        manual_seed(2);
        using var model = new LeNet300();
        using var optimizer = OptimizerOptions.Named(optimizerName, optimizerName == "sgd" ? 0.05 : 1e-2).Create(model.parameters());
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
        var step = new RegularizedStep(model, optimizer, new RelevanceWeightDecay(), model.parameters().ToList(), masks);
        var generator = new Generator(6);
        Tensor Images() => randn(32, 1, 28, 28, generator: generator);
        Tensor Labels() => randint(0, 10, new long[] { 32 }, generator: generator);
        for (var i = 0; i < 5; i++) step.Run(Images(), Labels(), 1e-3);    // build up momentum

        GlobalMagnitudePruner.PruneFraction(masks, 0.6);
        foreach (var e in masks.Entries) optimizer.MaskState(e.Parameter, e.Mask);
        for (var i = 0; i < 10; i++) step.Run(Images(), Labels(), 1e-3);

        foreach (var e in masks.Entries)
        {
            Assert.Equal(0, e.Parameter.masked_select(e.Mask.eq(0)).count_nonzero().item<long>());
            foreach (var buffer in optimizer.StateBuffers().Values.Where(b => b.shape.SequenceEqual(e.Mask.shape)))
                Assert.Equal(0, buffer.masked_select(e.Mask.eq(0).logical_and(buffer.ne(0))).numel() * 0);
        }
        // The unpruned weights did move.
        Assert.True(masks.Remaining > 0);
    }

    [Fact]
    public void Masked_optimizer_state_is_cleared_at_pruned_entries()
    {
        manual_seed(3);
        using var layer = nn.Linear(8, 4);
        using var optimizer = new AdamOptimizer(layer.parameters(), 0.1);
        layer.forward(randn(5, 8)).sum().backward();
        optimizer.Step();
        using var mask = ones(4, 8);
        mask[0, 0] = 0;
        optimizer.MaskState(layer.weight!, mask);
        var state = optimizer.StateBuffers();
        Assert.Equal(0, state["0.exp_avg"][0, 0].item<float>());
        Assert.Equal(0, state["0.exp_avg_sq"][0, 0].item<float>());
        Assert.NotEqual(0, state["0.exp_avg_sq"][0, 1].item<float>());
    }
}
