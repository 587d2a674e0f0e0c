using Topiary.Inference;
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

    // Small enough that the outputs stay near 1, where the 1e-5 comparison is about folding, not rounding.
    private static float[] RandomValues(Random random, int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 0.4 - 0.2)).ToArray();

    [Theory]
    [InlineData(1, 1, 3)] // padded: the dead filter whose constant is not 0 stays
    [InlineData(0, 2, 2)] // unpadded and strided: its constant is folded
    public void A_dead_filter_is_folded_only_where_the_next_convolution_sees_its_constant_at_every_pixel(int padding, int stride, int expectedFilters)
    {
        var random = new Random(3);
        var a = new Conv2dLayer("a", 2, 4, 3, RandomValues(random, 4 * 2 * 9), RandomValues(random, 4));
        ZeroRow(a.Weight, 1, 18);
        a.Bias[1] = 0.8f;
        ZeroRow(a.Weight, 2, 18);
        a.Bias[2] = -0.5f; // 0 after the ReLU: removed either way
        var b = new Conv2dLayer("b", 4, 3, Window2d.Square(3, stride, padding), RandomValues(random, 3 * 4 * 9), RandomValues(random, 3));
        var side = b.Window.OutputHeight(7);
        var network = new SequentialNetwork(2, 9, 9, new NetworkLayer[]
        {
            a, new ReluLayer(), b, new FlattenLayer(), new LinearLayer("c", 3 * side * side, 2, RandomValues(random, 2 * 3 * side * side), RandomValues(random, 2)),
        });
        var result = NetworkSimplifier.Simplify(network);
        Assert.Equal(expectedFilters, result.Layers[0].ShapeAfter[0]);
        Assert.Equal(expectedFilters, result.Layers[1].ShapeAfter[1]);
        AssertSameOutputs(network, result.Network);
    }

    [Theory]
    [InlineData(0, 1)] // unpadded average pooling passes the constant on: both dead filters go
    [InlineData(1, 2)] // padded: the border means differ, so the one whose constant is not 0 stays
    public void A_dead_filter_is_folded_through_average_pooling_only_without_padding(int padding, int expectedFilters)
    {
        var random = new Random(4);
        var a = new Conv2dLayer("a", 1, 3, 3, RandomValues(random, 3 * 9), RandomValues(random, 3));
        ZeroRow(a.Weight, 0, 9);
        a.Bias[0] = 1f;
        ZeroRow(a.Weight, 1, 9);
        a.Bias[1] = -1f;
        var pool = new AvgPool2dLayer(Window2d.Square(2, 1, padding));
        var side = pool.Window.OutputHeight(6);
        var network = new SequentialNetwork(1, 8, 8, new NetworkLayer[]
        {
            a, new ReluLayer(), pool, new FlattenLayer(), new LinearLayer("b", 3 * side * side, 2, RandomValues(random, 2 * 3 * side * side), RandomValues(random, 2)),
        });
        var result = NetworkSimplifier.Simplify(network);
        Assert.Equal(expectedFilters, result.Layers[0].ShapeAfter[0]);
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
