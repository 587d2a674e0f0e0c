using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

/// <summary>
/// How <see cref="SparseInferenceModel"/> reads its input and writes its output: a contiguous float32 input is read
/// where it lies and never written, any other input is copied first, and the result is the kernels' own, bit for bit.
/// </summary>
public class SparseInferenceIoTests
{
    private static readonly SparseCrossover[] AllSparse = { new(int.MaxValue, 1.0) };

    /// <summary>LeNet-300-100 through the public kernels, layer by layer on managed arrays (feature-major between layers).</summary>
    private static float[] LayerByLayer(SequentialNetwork network, float[] input, int batch)
    {
        var x = new float[input.Length];
        if (batch == 1) input.CopyTo(x, 0);
        else SparseLinearKernel.Transpose(input, x, batch, input.Length / batch);
        var linears = network.Layers.OfType<LinearLayer>().ToList();
        for (var i = 0; i < linears.Count; i++)
        {
            var layer = linears[i];
            var y = new float[batch * layer.OutFeatures];
            SparseLinearKernel.ForwardFeatureMajor(CsrMatrix.FromDense(layer.Weight, layer.OutFeatures, layer.InFeatures), layer.Bias, x, y, batch, relu: i + 1 < linears.Count);
            x = y;
        }
        if (batch == 1) return x;
        var rowMajor = new float[x.Length];
        SparseLinearKernel.Transpose(x, rowMajor, x.Length / batch, batch);
        return rowMajor;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(32)]
    public void The_all_sparse_path_gives_the_kernels_own_result_bit_for_bit_and_leaves_the_input_alone(int batch)
    {
        var network = PrunedNetworks.Network("lenet300", 0.95);
        using var model = new SparseInferenceModel(network, AllSparse);
        using var x = PrunedNetworks.Images(batch, seed: batch);
        using var before = x.clone();
        var expected = LayerByLayer(network, x.flatten().data<float>().ToArray(), batch);

        using var output = model.Forward(x);
        Assert.Equal(new long[] { batch, 10 }, output.shape);
        Assert.Equal(expected, output.flatten().data<float>().ToArray());
        Assert.True(before.bytes.SequenceEqual(x.bytes), "the input was modified");

        var managed = new float[batch * 10];
        model.Forward(x.flatten().data<float>().ToArray(), managed, batch);
        Assert.Equal(expected, managed);
    }

    [Theory]
    [InlineData("lenet300", 1.0)]
    [InlineData("lenet5", 1.0)]
    [InlineData("lenet5", 0.2)]   // conv layers dense, fc1 sparse: the kernels read and write tensors in the middle of the network
    public void Non_contiguous_and_float64_inputs_are_copied_and_give_the_same_output(string architecture, double maxDensity)
    {
        var network = PrunedNetworks.Network(architecture, 0.9);
        using var model = new SparseInferenceModel(network, new[] { new SparseCrossover(int.MaxValue, maxDensity) });
        foreach (var batch in new[] { 1, 5 })
        {
            using var x = PrunedNetworks.Images(batch, seed: batch);
            using var transposed = x.transpose(2, 3).contiguous().transpose(2, 3);
            Assert.False(transposed.is_contiguous());
            using var reference = model.Forward(x);
            using var fromView = model.Forward(transposed);
            using var fromDouble = model.Forward(x.to(float64));
            Assert.True(reference.bytes.SequenceEqual(fromView.bytes), $"batch {batch}: non-contiguous input");
            Assert.True(reference.bytes.SequenceEqual(fromDouble.bytes), $"batch {batch}: float64 input");
        }
    }

    [Fact]
    public void Managed_input_and_output_may_share_memory()
    {
        var network = PrunedNetworks.Network("lenet300", 0.95);
        using var model = new SparseInferenceModel(network, AllSparse);
        using var x = PrunedNetworks.Images(1);
        var values = x.flatten().data<float>().ToArray();
        var expected = new float[10];
        model.Forward(values, expected, 1);
        model.Forward(values, values.AsSpan(0, 10), 1);
        Assert.Equal(expected, values[..10]);
    }
}
