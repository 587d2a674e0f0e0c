using Topiary.Models;
using Topiary.Pruning.Toolkit;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Tests.Toolkit;

public class CostMeterTests
{
    [Fact]
    public void Macs_count_output_positions_of_convolutions_and_only_nonzero_weights_after_pruning()
    {
        manual_seed(81);
        using var model = new LeNet5();
        using var example = zeros(1, 1, 28, 28);
        var dense = CostMeter.Measure(model, example);
        var conv1 = dense.Layers.Single(l => l.Name == "conv1");
        Assert.Equal(20L * 25 * 24 * 24, conv1.DenseMacs);            // 20 filters × 5×5 × 24×24 positions
        Assert.Equal(50L * 20 * 25 * 8 * 8, dense.Layers.Single(l => l.Name == "conv2").DenseMacs);
        Assert.Equal(800L * 500, dense.Layers.Single(l => l.Name == "fc1").DenseMacs);
        Assert.Equal(431_080, dense.Total);

        var masks = Prune.Attach(model, new LayerSelector { NamePattern = "conv1.weight" });
        Prune.LnStructured(masks, PruningAmount.OfCount(5), dim: 0);
        var pruned = CostMeter.Measure(model, example);
        var conv1After = pruned.Layers.Single(l => l.Name == "conv1");
        Assert.Equal(15, conv1After.AliveUnits);
        Assert.Equal(15L * 25 * 24 * 24, conv1After.RemainingMacs);
        Assert.Equal(431_080 - 5 * 25, pruned.Nonzero);
        Prune.Remove(model);
    }
}
