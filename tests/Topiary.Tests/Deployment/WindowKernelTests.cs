using Topiary.Backend;
using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

/// <summary>
/// The sparse convolution and pooling steps on random windows (rectangular kernels, strides, paddings, and sizes
/// that leave remainders) against libtorch's conv2d, max_pool2d and avg_pool2d, on every instruction-set path.
/// </summary>
public class WindowKernelTests
{
    private static SequentialNetwork RandomNetwork(Random random, bool averagePooling)
    {
        while (true)
        {
            int inChannels = random.Next(1, 4), height = random.Next(4, 14), width = random.Next(4, 14), outChannels = random.Next(1, 6);
            var convolution = new Window2d(random.Next(1, 5), random.Next(1, 5), random.Next(1, 4), random.Next(1, 4), random.Next(0, 3), random.Next(0, 3));
            int poolHeight = random.Next(1, 4), poolWidth = random.Next(1, 4);
            var pooling = new Window2d(poolHeight, poolWidth, random.Next(1, 4), random.Next(1, 4), random.Next(0, poolHeight / 2 + 1), random.Next(0, poolWidth / 2 + 1));
            int convHeight = convolution.OutputHeight(height), convWidth = convolution.OutputWidth(width);
            if (convHeight < 1 || convWidth < 1 || pooling.OutputHeight(convHeight) < 1 || pooling.OutputWidth(convWidth) < 1) continue;
            var weight = SparseKernelTests.RandomMatrix(random, outChannels, inChannels * convolution.KernelHeight * convolution.KernelWidth, 0.5);
            var bias = Enumerable.Range(0, outChannels).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            return new SequentialNetwork(inChannels, height, width, new NetworkLayer[]
            {
                new Conv2dLayer("conv", inChannels, outChannels, convolution, weight, bias),
                new ReluLayer(),
                averagePooling ? new AvgPool2dLayer(pooling) : new MaxPool2dLayer(pooling),
                new FlattenLayer(),
            });
        }
    }

    public static TheoryData<KernelInstructionSet> Paths()
    {
        var data = new TheoryData<KernelInstructionSet>();
        foreach (var set in KernelIsa.Supported) data.Add(set);
        return data;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Sparse_convolution_and_pooling_match_libtorch_on_random_windows(KernelInstructionSet set)
    {
        using var forced = KernelIsa.Force(set);
        var random = new Random(21);
        for (var trial = 0; trial < 40; trial++)
        {
            var network = RandomNetwork(random, averagePooling: trial % 2 == 1);
            using var dense = new TorchNetwork(network);
            using var sparse = new SparseInferenceModel(network, new[] { new SparseCrossover(int.MaxValue, 2.0) });
            foreach (var batch in new[] { 1, 3 })
            {
                using var scope = NewDisposeScope();
                var x = randn(new long[] { batch, network.InputChannels, network.InputHeight, network.InputWidth }, generator: new Generator((ulong)(trial * 10 + batch)));
                var expected = dense.forward(x).flatten().data<float>().ToArray();
                var actual = sparse.Forward(x).flatten().data<float>().ToArray();
                Assert.Equal(expected.Length, actual.Length);
                for (var i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * (1 + Math.Abs(expected[i])),
                        $"{set}, trial {trial} ({string.Join("; ", network.Layers)}), batch {batch}: [{i}] = {actual[i]}, libtorch {expected[i]}");
            }
        }
    }
}
