using Topiary.Inference;

namespace Topiary.Tests.Deployment;

/// <summary>
/// The network in <c>Deployment/Fixtures/sparse-v1.tsparse</c>, a sparse model file written by format version 1 (Topiary at
/// e093265, before convolutions had stride and padding): two convolutions, ReLU, max-pooling and two linear
/// layers, about 60% zeros, generated from a fixed seed so that the test can rebuild it and compare.
/// </summary>
internal static class LegacySparseFixture
{
    public const string FileName = "Deployment/Fixtures/sparse-v1.tsparse";

    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, FileName);

    public static SequentialNetwork Network()
    {
        var random = new Random(2024);
        float[] Values(int count) => Enumerable.Range(0, count)
            .Select(_ => random.NextDouble() < 0.6 ? 0f : (float)(random.NextDouble() * 2 - 1)).ToArray();
        return new SequentialNetwork(2, 9, 9, new NetworkLayer[]
        {
            new Conv2dLayer("conv1", 2, 3, 3, Values(3 * 2 * 3 * 3), Values(3)),
            new ReluLayer(),
            new MaxPool2dLayer(2),
            new Conv2dLayer("conv2", 3, 4, 2, Values(4 * 3 * 2 * 2), Values(4)),
            new FlattenLayer(),
            new LinearLayer("fc1", 16, 6, Values(16 * 6), Values(6)),
            new ReluLayer(),
            new LinearLayer("fc2", 6, 3, Values(6 * 3), Values(3)),
        });
    }
}
