using Topiary.Deployment;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

public class NetworkSimplifierTests
{
    private static void ZeroRow(float[] weight, int row, int rowLength) => Array.Clear(weight, row * rowLength, rowLength);

    private static void AssertSameOutputs(SequentialNetwork before, SequentialNetwork after)
    {
        using var scope = NewDisposeScope();
        using var original = new TorchNetwork(before);
        using var simplified = new TorchNetwork(after);
        var x = randn(new long[] { 64, before.InputChannels, before.InputHeight, before.InputWidth }, generator: new Generator(9));
        var difference = PrunedNetworks.MaxDifference(original.forward(x), simplified.forward(x));
        Assert.True(difference <= 1e-5, $"outputs differ by {difference}");
    }

    [Fact]
    public void Dead_neurons_are_removed_and_their_constant_outputs_folded_into_the_next_bias()
    {
        var network = PrunedNetworks.Network("lenet300", 0.5);
        var fc1 = (LinearLayer)network.Layers[1];
        var fc2 = (LinearLayer)network.Layers[3];
        var fc3 = (LinearLayer)network.Layers[5];
        // fc1 units 0..9 are dead: 0..4 with positive biases (their constant passes the ReLU), 5..9 negative.
        for (var r = 0; r < 10; r++)
        {
            ZeroRow(fc1.Weight, r, 784);
            fc1.Bias[r] = r < 5 ? 0.5f + r : -1f;
        }
        // fc2 units 0..6 are unused: fc3 has no weight from them.
        for (var o = 0; o < 10; o++)
            for (var c = 0; c < 7; c++) fc3.Weight[o * 100 + c] = 0f;
        Assert.Equal(300, fc2.InFeatures);

        var result = NetworkSimplifier.Simplify(network);
        Assert.Equal(new long[] { 290, 784 }, result.Layers[0].ShapeAfter);
        Assert.Equal(new long[] { 93, 290 }, result.Layers[1].ShapeAfter);
        Assert.Equal(new long[] { 10, 93 }, result.Layers[2].ShapeAfter);
        Assert.Equal(new long[] { 300, 784 }, result.Layers[0].ShapeBefore);
        AssertSameOutputs(network, result.Network);
    }

    [Fact]
    public void Dead_filters_are_removed_through_max_pooling_and_flatten()
    {
        var network = PrunedNetworks.Network("lenet5", 0.5);
        var conv1 = (Conv2dLayer)network.Layers[0];
        var conv2 = (Conv2dLayer)network.Layers[2];
        foreach (var f in new[] { 1, 4, 7 }) { ZeroRow(conv1.Weight, f, 25); conv1.Bias[f] = 0.3f * f; }
        foreach (var f in new[] { 0, 10, 20, 49 }) { ZeroRow(conv2.Weight, f, 500); conv2.Bias[f] = f % 2 == 0 ? 0.7f : -0.2f; }

        var result = NetworkSimplifier.Simplify(network);
        Assert.Equal(new long[] { 17, 1, 5, 5 }, result.Layers[0].ShapeAfter);
        Assert.Equal(new long[] { 46, 17, 5, 5 }, result.Layers[1].ShapeAfter);
        Assert.Equal(new long[] { 500, 46 * 16 }, result.Layers[2].ShapeAfter);
        Assert.Equal(new long[] { 10, 500 }, result.Layers[3].ShapeAfter);
        AssertSameOutputs(network, result.Network);
    }

    [Fact]
    public void A_heavily_pruned_model_shrinks_and_keeps_its_outputs()
    {
        foreach (var architecture in new[] { "lenet5", "lenet300" })
        {
            var network = PrunedNetworks.Network(architecture, 0.995);
            var result = NetworkSimplifier.Simplify(network);
            Assert.True(result.Network.ParameterCount < network.ParameterCount / 2, $"{architecture}: {result.Network.ParameterCount} of {network.ParameterCount}");
            Assert.Equal(network.OutputShape, result.Network.OutputShape);
            AssertSameOutputs(network, result.Network);
        }
    }

    [Fact]
    public void A_network_without_dead_units_is_unchanged()
    {
        var network = PrunedNetworks.Network("lenet300", 0.0);
        var result = NetworkSimplifier.Simplify(network);
        Assert.All(result.Layers, l => Assert.Equal(l.ShapeBefore, l.ShapeAfter));
        Assert.Equal(network.ParameterCount, result.Network.ParameterCount);
    }
}
