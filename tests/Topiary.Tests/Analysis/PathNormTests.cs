using TorchSharp;
using TorchSharp.Modules;
using Topiary.Analysis;
using Topiary.Models;
using static TorchSharp.torch;

namespace Topiary.Tests.Analysis;

public class PathNormTests
{
    private static Sequential TinyNet(int seed)
    {
        manual_seed(seed);
        var net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2));
        net.to(float64);
        return net;
    }

    // Σ over every path (input → hidden → output, bias₁ → hidden → output, bias₂ → output) of |product of weights|^q.
    private static double BruteForce(Sequential net, double q)
    {
        var layers = net.children().OfType<Linear>().ToArray();
        var (w1, b1, w2, b2) = (layers[0].weight!.detach(), layers[0].bias!.detach(), layers[1].weight!.detach(), layers[1].bias!.detach());
        double sum = 0;
        for (var o = 0; o < 2; o++)
        {
            sum += Math.Pow(Math.Abs(b2[o].item<double>()), q);
            for (var h = 0; h < 4; h++)
            {
                var outgoing = Math.Abs(w2[o, h].item<double>());
                sum += Math.Pow(outgoing * Math.Abs(b1[h].item<double>()), q);
                for (var i = 0; i < 3; i++) sum += Math.Pow(outgoing * Math.Abs(w1[h, i].item<double>()), q);
            }
        }
        return Math.Pow(sum, 1 / q);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void It_equals_brute_force_path_enumeration(double q)
    {
        using var scope = NewDisposeScope();
        var net = TinyNet(1);
        Assert.Equal(BruteForce(net, q), PathNorm.Compute(net, q), 10);
    }

    [Fact]
    public void It_is_invariant_under_neuron_rescaling_and_does_not_grow_when_weights_are_pruned()
    {
        using var scope = NewDisposeScope();
        var net = TinyNet(2);
        var before = PathNorm.Compute(net, 1);
        var layers = net.children().OfType<Linear>().ToArray();
        using (no_grad())
        {
            layers[0].weight![1].mul_(3.5);
            layers[0].bias![1].mul_(3.5);
            layers[1].weight![.., 1].div_(3.5);
        }
        Assert.Equal(before, PathNorm.Compute(net, 1), 10);
        using (no_grad()) layers[0].weight![2, 0] = 0;
        Assert.True(PathNorm.Compute(net, 1) < before);
    }

    [Fact]
    public void It_handles_LeNet5_with_sum_pooling_and_pruning_lowers_it()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var model = new LeNet5();
        var before = PathNorm.Compute(model, 2);
        Assert.True(double.IsFinite(before) && before > 0);
        using (no_grad()) foreach (var p in model.parameters()) p.mul_(p.abs().gt(0.02));
        Assert.True(PathNorm.Compute(model, 2) < before);
    }
}
