using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

public class SparseKernelTests
{
    /// <summary>A random [rows, columns] matrix of the given density whose first row is empty and last row full.</summary>
    internal static float[] RandomMatrix(Random random, int rows, int columns, double density)
    {
        var values = new float[rows * columns];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < columns; c++)
            {
                var keep = r == rows - 1 && rows > 1 || r != 0 && random.NextDouble() < density;
                values[r * columns + c] = keep ? (float)(random.NextDouble() * 2 - 1) : 0f;
            }
        return values;
    }

    private static float[] RandomVector(Random random, int length) => Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    [Fact]
    public void Csr_linear_kernel_matches_a_float64_reference_on_random_shapes_densities_and_batches()
    {
        var random = new Random(11);
        var densities = new[] { 0.0, 0.01, 0.1, 0.5, 1.0 };
        var batches = new[] { 1, 2, 7, 8, 31, 32, 33, 70 };
        for (var trial = 0; trial < 60; trial++)
        {
            int rows = random.Next(1, 90), columns = random.Next(1, 300), batch = batches[trial % batches.Length];
            var density = densities[trial % densities.Length];
            var dense = RandomMatrix(random, rows, columns, density);
            var bias = RandomVector(random, rows);
            var input = RandomVector(random, batch * columns);
            var relu = trial % 2 == 0;
            var weight = CsrMatrix.FromDense(dense, rows, columns);
            var output = new float[batch * rows];
            SparseLinearKernel.Forward(weight, bias, input, output, batch, relu, new float[(rows + columns) * batch]);
            for (var b = 0; b < batch; b++)
                for (var r = 0; r < rows; r++)
                {
                    double expected = bias[r];
                    for (var c = 0; c < columns; c++) expected += (double)dense[r * columns + c] * input[b * columns + c];
                    if (relu) expected = Math.Max(0, expected);
                    Assert.True(Math.Abs(output[b * rows + r] - expected) <= 1e-5 * (1 + Math.Abs(expected)),
                        $"trial {trial} ({rows}×{columns}, density {density}, batch {batch}): [{b},{r}] = {output[b * rows + r]}, expected {expected}");
                }
        }
    }

    [Fact]
    public void The_multithreaded_path_gives_the_same_result_as_one_thread()
    {
        var random = new Random(12);
        const int rows = 300, columns = 500, batch = 64;
        var weight = CsrMatrix.FromDense(RandomMatrix(random, rows, columns, 0.3), rows, columns);
        Assert.True((long)weight.Nonzero * batch > SparseLinearKernel.ParallelThreshold);
        var bias = RandomVector(random, rows);
        var input = RandomVector(random, batch * columns);
        var scratch = new float[(rows + columns) * batch];
        var parallel = new float[batch * rows];
        var single = new float[batch * rows];
        var threads = KernelThreads.Count;
        try
        {
            KernelThreads.Count = Math.Max(2, threads);
            SparseLinearKernel.Forward(weight, bias, input, parallel, batch, relu: false, scratch);
            KernelThreads.Count = 1;
            SparseLinearKernel.Forward(weight, bias, input, single, batch, relu: false, scratch);
        }
        finally
        {
            KernelThreads.Count = threads;
        }
        Assert.Equal(single, parallel);
    }

    [Fact]
    public void Direct_sparse_convolution_matches_libtorch_conv2d()
    {
        var random = new Random(13);
        for (var trial = 0; trial < 12; trial++)
        {
            int inChannels = random.Next(1, 6), outChannels = random.Next(1, 9), kernel = random.Next(1, 6);
            int height = random.Next(kernel, 20), width = random.Next(kernel, 30), batch = random.Next(1, 5);
            var density = new[] { 0.0, 0.05, 0.3, 1.0 }[trial % 4];
            var dense = RandomMatrix(random, outChannels, inChannels * kernel * kernel, density);
            var bias = RandomVector(random, outChannels);
            var input = RandomVector(random, batch * inChannels * height * width);
            var weight = CsrMatrix.FromDense(dense, outChannels, inChannels * kernel * kernel);
            int outHeight = height - kernel + 1, outWidth = width - kernel + 1;
            var output = new float[batch * outChannels * outHeight * outWidth];
            SparseConvKernel.Forward(weight, SparseConvKernel.InputOffsets(weight, kernel, height, width), bias, kernel, inChannels, height, width, input, output, batch);

            using var scope = NewDisposeScope();
            var expected = nn.functional.conv2d(tensor(input).reshape(batch, inChannels, height, width),
                tensor(dense).reshape(outChannels, inChannels, kernel, kernel), tensor(bias)).flatten().data<float>().ToArray();
            for (var i = 0; i < output.Length; i++)
                Assert.True(Math.Abs(output[i] - expected[i]) <= 1e-5 * (1 + Math.Abs(expected[i])), $"trial {trial}: [{i}] = {output[i]}, expected {expected[i]}");
        }
    }

    public static TheoryData<string, double, double> Plans => new()
    {
        { "lenet300", 0.95, 1.0 },   // every layer on the sparse kernels
        { "lenet300", 0.95, -1.0 },  // every layer on libtorch (the dense fallback)
        { "lenet300", 0.0, 1.0 },
        { "lenet5", 0.9, 1.0 },
        { "lenet5", 0.9, -1.0 },
        { "lenet5", 0.99, 1.0 },
    };

    [Theory]
    [MemberData(nameof(Plans))]
    public void The_sparse_inference_model_matches_dense_libtorch(string architecture, double sparsity, double maxDensity)
    {
        var network = PrunedNetworks.Network(architecture, sparsity);
        using var dense = new TorchNetwork(network);
        using var sparse = new SparseInferenceModel(network, new[] { new SparseCrossover(int.MaxValue, maxDensity) });
        Assert.All(sparse.Plan(1, 32), p => Assert.All(p.SparseAtBatch.Values, s => Assert.Equal(maxDensity >= 1, s)));
        foreach (var batch in new[] { 1, 3, 32, 41 })
        {
            using var x = PrunedNetworks.Images(batch, seed: batch);
            using var expected = dense.forward(x);
            using var actual = sparse.Forward(x);
            Assert.True(PrunedNetworks.MaxDifference(expected, actual) <= 1e-4, $"batch {batch}: {PrunedNetworks.MaxDifference(expected, actual)}");
        }
    }

    [Theory]
    [InlineData("lenet300")]
    [InlineData("lenet5")]
    public void Layers_that_fall_back_give_exactly_dense_libtorchs_output_and_leave_the_input_alone(string architecture)
    {
        var network = PrunedNetworks.Network(architecture, 0.9);
        using var dense = new TorchNetwork(network);
        using var fallback = new SparseInferenceModel(network, new[] { new SparseCrossover(int.MaxValue, -1) });
        foreach (var batch in new[] { 1, 3, 32 })
        {
            using var x = PrunedNetworks.Images(batch, seed: batch);
            using var before = x.clone();
            using var expected = dense.forward(x);
            using var actual = fallback.Forward(x);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.contiguous().bytes.SequenceEqual(actual.contiguous().bytes), $"batch {batch}: not bit-identical");
            Assert.True(before.bytes.SequenceEqual(x.bytes), "the input was modified");
            var managed = new float[batch * 10];
            fallback.Forward(x.flatten().data<float>().ToArray(), managed, batch);
            Assert.Equal(expected.flatten().data<float>().ToArray(), managed);
        }
    }

    [Theory]
    [InlineData("lenet300")]
    [InlineData("lenet5")]
    public void A_mix_of_sparse_and_fallen_back_layers_matches_dense(string architecture)
    {
        var network = PrunedNetworks.Network(architecture, 0.9);
        using var dense = new TorchNetwork(network);
        var densities = new SparseInferenceModel(network).Plan(1).Select(p => p.Density).Distinct().Order().ToList();
        Assert.True(densities.Count >= 2, "the layers need different densities for a mixed plan");
        // Sparse for the sparsest layers, dense for the rest: the activations cross between buffers and tensors.
        var threshold = (densities[0] + densities[1]) / 2;
        using var mixed = new SparseInferenceModel(network, new[] { new SparseCrossover(int.MaxValue, threshold) });
        var plan = mixed.Plan(32).Select(p => p.SparseAtBatch[32]).ToList();
        Assert.Contains(true, plan);
        Assert.Contains(false, plan);
        foreach (var batch in new[] { 1, 32 })
        {
            using var x = PrunedNetworks.Images(batch, seed: batch);
            Assert.True(PrunedNetworks.MaxDifference(dense.forward(x), mixed.Forward(x)) <= 1e-4, $"batch {batch}");
        }
    }

    [Fact]
    public void Calibration_picks_a_kernel_per_layer_and_keeps_outputs_unchanged()
    {
        var network = PrunedNetworks.Network("lenet300", 0.9);
        using var dense = new TorchNetwork(network);
        using var sparse = new SparseInferenceModel(network);
        sparse.Calibrate(new[] { 1, 16 }, repeats: 3);
        Assert.Equal(3, sparse.Plan(1, 16).Count);
        using var x = PrunedNetworks.Images(16);
        Assert.True(PrunedNetworks.MaxDifference(dense.forward(x), sparse.Forward(x)) <= 1e-4);
        var managed = new float[16 * 10];
        sparse.Forward(x.flatten().data<float>().ToArray(), managed, 16);
        Assert.Equal(sparse.Forward(x).flatten().data<float>().ToArray(), managed);
    }
}
