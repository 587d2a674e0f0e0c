using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

/// <summary>
/// Every engine that can run a network, on small random networks (convolutions with random kernels, strides and
/// paddings, max and average pooling, linear layers, random sparsity) and random batches: libtorch
/// (<see cref="TorchNetwork"/>), ONNX Runtime on the export (<see cref="OnnxRuntimeNetwork"/>, 1 and 2 threads), and
/// <see cref="SparseInferenceModel"/> with every layer sparse, every layer dense, and on ONNX Runtime, on tensors and
/// on managed memory. All agree to 1e-4 (relative to the output's scale); none is expected to match another bit for bit.
/// </summary>
public class EngineAgreementTests
{
    internal static SequentialNetwork RandomNetwork(Random random)
    {
        while (true)
        {
            int inChannels = random.Next(1, 4), height = random.Next(6, 17), width = random.Next(6, 17), middle = random.Next(1, 9), outChannels = random.Next(1, 9);
            var first = new Window2d(random.Next(1, 6), random.Next(1, 6), random.Next(1, 3), random.Next(1, 3), random.Next(0, 3), random.Next(0, 3));
            int poolHeight = random.Next(1, 4), poolWidth = random.Next(1, 4);
            var pooling = new Window2d(poolHeight, poolWidth, random.Next(1, 3), random.Next(1, 3), random.Next(0, poolHeight / 2 + 1), random.Next(0, poolWidth / 2 + 1));
            var second = new Window2d(random.Next(1, 4), random.Next(1, 4), 1, 1, random.Next(0, 2), random.Next(0, 2));
            var density = new[] { 0.02, 0.1, 0.3, 1.0 }[random.Next(4)];
            var layers = new List<NetworkLayer>
            {
                new Conv2dLayer("conv1", inChannels, middle, first, Values(random, middle * inChannels * first.KernelHeight * first.KernelWidth, density), Values(random, middle, 1)),
                new ReluLayer(),
                random.Next(2) == 0 ? new MaxPool2dLayer(pooling) : new AvgPool2dLayer(pooling),
                new Conv2dLayer("conv2", middle, outChannels, second, Values(random, outChannels * middle * second.KernelHeight * second.KernelWidth, density), Values(random, outChannels, 1)),
                new ReluLayer(),
                new FlattenLayer(),
            };
            var probe = new SequentialNetwork(inChannels, height, width, layers);
            try
            {
                probe.Shapes();
            }
            catch (InvalidOperationException)
            {
                continue; // a window that does not fit: draw again
            }
            var features = (int)probe.OutputShape.Size;
            int hidden = random.Next(1, 40), outputs = random.Next(1, 12);
            layers.Add(new LinearLayer("fc1", features, hidden, Values(random, hidden * features, density), Values(random, hidden, 1)));
            layers.Add(new ReluLayer());
            layers.Add(new LinearLayer("fc2", hidden, outputs, Values(random, outputs * hidden, density), Values(random, outputs, 1)));
            return new SequentialNetwork(inChannels, height, width, layers);
        }
    }

    private static float[] Values(Random random, int count, double density) =>
        Enumerable.Range(0, count).Select(_ => random.NextDouble() < density ? (float)(random.NextDouble() * 2 - 1) : 0f).ToArray();

    private static readonly IReadOnlyList<SparseCrossover> EverySparse = new[] { new SparseCrossover(int.MaxValue, 1.0) };
    private static readonly IReadOnlyList<SparseCrossover> EveryDense = new[] { new SparseCrossover(int.MaxValue, -1.0) };

    [Fact]
    public void Every_engine_agrees_with_libtorch_to_1e4_on_random_networks_and_batches()
    {
        var random = new Random(2024);
        for (var trial = 0; trial < 12; trial++)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var network = RandomNetwork(random);
            var batch = new[] { 1, 2, 7, 9, 33 }[trial % 5];
            var shape = network.InputShape;
            var input = randn(new long[] { batch, shape.Channels, shape.Height, shape.Width }, generator: new Generator((ulong)trial));
            using var torch = new TorchNetwork(network);
            var reference = torch.forward(input);
            var tolerance = 1e-4 * Math.Max(1.0, reference.abs().max().item<float>());
            using var ort1 = new OnnxRuntimeNetwork(network, intraOpThreads: 1);
            using var ort2 = new OnnxRuntimeNetwork(network, intraOpThreads: 2);
            using var sparse = new SparseInferenceModel(network, EverySparse);
            using var dense = new SparseInferenceModel(network, EveryDense);
            using var onOrt = new SparseInferenceModel(network);
            onOrt.Apply(new CalibrationChoice(batch, InferenceEngine.OnnxRuntime, 1, network.Layers.OfType<WeightedLayer>().Select(_ => false).ToList()));
            Assert.Equal(InferenceEngine.OnnxRuntime, onOrt.EngineAt(batch));
            var engines = new (string Name, Func<Tensor> Run)[]
            {
                ("ONNX Runtime, 1 thread", () => ort1.Forward(input)),
                ("ONNX Runtime, 2 threads", () => ort2.Forward(input)),
                ("Topiary, every layer sparse", () => sparse.Forward(input)),
                ("Topiary, every layer dense", () => dense.Forward(input)),
                ("Topiary on ONNX Runtime", () => onOrt.Forward(input)),
                ("Topiary, every layer sparse, managed memory", () => OnManagedMemory(sparse, input, batch)),
                ("Topiary on ONNX Runtime, managed memory", () => OnManagedMemory(onOrt, input, batch)),
            };
            foreach (var (name, run) in engines)
            {
                var output = run();
                Assert.Equal(reference.shape, output.shape);
                var difference = reference.sub(output).abs().max().item<float>();
                Assert.True(difference <= tolerance, $"trial {trial} (batch {batch}, {string.Join(", ", network.Layers)}): {name} differs from libtorch by {difference:E2}");
            }
        }
    }

    private static Tensor OnManagedMemory(SparseInferenceModel model, Tensor input, int batch)
    {
        var output = new float[batch * model.Network.OutputShape.Size];
        model.Forward(input.contiguous().data<float>().ToArray(), output, batch);
        return tensor(output).reshape(batch, -1);
    }

    [Fact]
    public void Padded_and_strided_convolutions_split_across_kernel_threads_agree_with_libtorch()
    {
        var random = new Random(7);
        var previous = KernelThreads.Count;
        KernelThreads.Count = 2;
        try
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var network = new SequentialNetwork(16, 28, 28, new NetworkLayer[]
            {
                new Conv2dLayer("strided", 16, 32, Window2d.Square(3, stride: 2, padding: 1), Values(random, 32 * 16 * 9, 0.5), Values(random, 32, 1)),
                new ReluLayer(),
                new Conv2dLayer("padded", 32, 8, new Window2d(3, 5, 1, 1, 1, 2), Values(random, 8 * 32 * 15, 0.5), Values(random, 8, 1)),
                new FlattenLayer(),
            });
            using var torch = new TorchNetwork(network);
            using var sparse = new SparseInferenceModel(network, EverySparse);
            var input = randn(new long[] { 32, 16, 28, 28 }, generator: new Generator(3));
            var reference = torch.forward(input);
            var difference = reference.sub(sparse.Forward(input)).abs().max().item<float>();
            Assert.True(difference <= 1e-4 * Math.Max(1.0, reference.abs().max().item<float>()), $"differs from libtorch by {difference:E2}");
        }
        finally
        {
            KernelThreads.Count = previous;
        }
    }
}
