using System.Text.Json;
using Topiary.Inference;
using Topiary.Tests.Support;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

/// <summary>
/// A user's own CNN (<see cref="UserModels.Cnn"/>: BatchNorm, strided and padded convolutions, a rectangular kernel,
/// padded max- and average pooling, Dropout), pruned to 90%, through every deployment path: libtorch reference,
/// ONNX, the sparse file, sparse inference, simplification and the PyTorch exports.
/// </summary>
public sealed class UserModelDeploymentTests : IDisposable
{
    private readonly Sequential model = UserModels.Cnn(sparsity: 0.9);
    private readonly SequentialNetwork network;

    public UserModelDeploymentTests() => network = SequentialNetworks.FromSequential(model, 1, 28, 28);

    public void Dispose() => model.Dispose();

    [Fact]
    public void The_network_is_the_module_in_eval_mode()
    {
        Assert.Equal(new[] { "conv2d", "relu", "maxpool2d", "conv2d", "relu", "conv2d", "relu", "avgpool2d", "flatten", "linear", "relu", "linear" },
            network.Layers.Select(l => l.Kind));
        var density = (double)network.Layers.OfType<WeightedLayer>().Sum(l => l.Weight.Count(w => w != 0)) / network.Layers.OfType<WeightedLayer>().Sum(l => l.Weight.Length);
        Assert.InRange(density, 0.09, 0.11);
        using var scope = NewDisposeScope();
        using var torchNetwork = new TorchNetwork(network);
        var x = UserModels.Images(5);
        var difference = PrunedNetworks.MaxDifference(model.forward(x), torchNetwork.forward(x));
        Assert.True(difference <= 1e-5, $"{difference}");
    }

    [Fact]
    public void Onnx_runtime_agrees_with_torchsharp()
    {
        using var dir = new TestDirectory();
        var path = dir.File("user.onnx");
        OnnxExporter.Save(path, network);
        using var scope = NewDisposeScope();
        using var torchNetwork = new TorchNetwork(network);
        var x = UserModels.Images(4);
        OnnxRuntimeRunner.AssertAgrees(torchNetwork.forward(x), OnnxRuntimeRunner.Run(path, x), 1e-4);
    }

    [Fact]
    public void The_sparse_file_gives_back_the_network_and_its_outputs()
    {
        using var dir = new TestDirectory();
        var path = dir.File("user.tsparse");
        SparseModelFile.Save(path, network, architecture: null);
        var loaded = SparseModelFile.Load(path);
        Assert.Equal(network.Layers.Select(l => l.ToString()), loaded.Network.Layers.Select(l => l.ToString()));
        foreach (var (expected, actual) in network.Parameters().Zip(loaded.Network.Parameters()))
        {
            Assert.Equal(expected.Name, actual.Name);
            Assert.Equal(expected.Shape, actual.Shape);
            // Zeros are not stored, so −0.0 comes back as +0.0; every other value bit for bit.
            Assert.Equal(expected.Values.Select(v => v == 0f ? 0 : BitConverter.SingleToInt32Bits(v)), actual.Values.Select(BitConverter.SingleToInt32Bits));
        }
        using var scope = NewDisposeScope();
        using var original = new TorchNetwork(network);
        using var reloaded = new TorchNetwork(loaded.Network);
        var x = UserModels.Images(3);
        Assert.True(TensorAssert.Same(original.forward(x), reloaded.forward(x)));
    }

    public static TheoryData<string> Plans => new() { "every layer sparse", "default plan", "every layer dense" };

    [Theory]
    [MemberData(nameof(Plans))]
    public void Sparse_inference_matches_dense_libtorch(string plan)
    {
        IReadOnlyList<SparseCrossover>? crossover = plan switch
        {
            "every layer sparse" => new[] { new SparseCrossover(int.MaxValue, 2.0) },
            "every layer dense" => new[] { new SparseCrossover(int.MaxValue, -1.0) },
            _ => null,
        };
        using var dense = new TorchNetwork(network);
        using var sparse = new SparseInferenceModel(network, crossover);
        foreach (var batch in new[] { 1, 3, 32 })
        {
            using var scope = NewDisposeScope();
            var x = UserModels.Images(batch, seed: batch);
            if (plan != "default plan") Assert.All(sparse.Plan(batch), l => Assert.Equal(plan == "every layer sparse", l.SparseAtBatch[batch]));
            var expected = dense.forward(x);
            var actual = sparse.Forward(x);
            if (plan == "every layer dense")
            {
                Assert.True(expected.contiguous().bytes.SequenceEqual(actual.contiguous().bytes), $"batch {batch}: the fallback is not libtorch's own result");
                continue;
            }
            var difference = PrunedNetworks.MaxDifference(expected, actual);
            Assert.True(difference <= 1e-4, $"batch {batch}: {difference}");
            var managed = new float[batch * 10];
            sparse.Forward(x.flatten().data<float>().ToArray(), managed, batch);
            Assert.Equal(actual.flatten().data<float>().ToArray(), managed);
        }
    }

    [Fact]
    public void Simplification_removes_what_it_can_and_keeps_the_outputs()
    {
        var layers = network.Layers.OfType<WeightedLayer>().ToDictionary(l => l.Name);
        void Kill(string layer, int unit, float bias)
        {
            var l = layers[layer];
            var rowLength = l.Weight.Length / l.OutputUnits;
            Array.Clear(l.Weight, unit * rowLength, rowLength);
            l.Bias[unit] = bias;
        }
        // Large constants, so that folding one where it is not exact would show in the outputs.
        Kill("0", 1, 2f);     // into a padded convolution: kept
        Kill("0", 2, -1f);    // its ReLU makes it 0: removed
        Kill("4", 3, 1.5f);   // into an unpadded convolution: folded
        Kill("7", 0, 1.5f);   // through a padded average pooling: kept
        Kill("7", 1, -1f);    // removed
        Kill("11", 2, 2f);    // into the last linear layer: folded
        var result = NetworkSimplifier.Simplify(network);
        var after = result.Layers.ToDictionary(l => l.Name);
        var before = network.Layers.OfType<WeightedLayer>().ToDictionary(l => l.Name, l => l.OutputUnits);
        Assert.True(after["4"].ShapeAfter[0] <= before["4"] - 1 && after["11"].ShapeAfter[0] <= before["11"] - 1);
        Assert.True(result.Network.ParameterCount < network.ParameterCount);

        using var scope = NewDisposeScope();
        using var original = new TorchNetwork(network);
        using var simplified = new TorchNetwork(result.Network);
        var x = UserModels.Images(16);
        var difference = PrunedNetworks.MaxDifference(original.forward(x), simplified.forward(x));
        Assert.True(difference <= 1e-5, $"outputs differ by {difference}");
    }

    [Fact]
    public void The_cli_simplifies_and_exports_a_users_sparse_file()
    {
        using var dir = new TestDirectory();
        SparseModelFile.Save(dir.File("user.tsparse"), network, architecture: null);
        var simplify = CliProcess.Run("simplify", "--model-file", dir.File("user.tsparse"), "--out", dir.File("small.tsparse"));
        Assert.True(simplify.ExitCode == 0, simplify.StandardError);
        var onnx = CliProcess.Run("export", "--model-file", dir.File("small.tsparse"), "--format", "onnx");
        Assert.True(onnx.ExitCode == 0, onnx.StandardError);

        using var scope = NewDisposeScope();
        using var torchNetwork = new TorchNetwork(network);
        var x = UserModels.Images(2);
        OnnxRuntimeRunner.AssertAgrees(torchNetwork.forward(x), OnnxRuntimeRunner.Run(dir.File("small.onnx"), x), 1e-4);
    }

    private string[] ExpectedNames() =>
        UserModels.CnnWeightedLayers.SelectMany(l => new[] { $"{l}.weight", $"{l}.bias" }).ToArray();

    /// <summary>Unfolded layers carry the module's own values; the two convolutions with BatchNorm carry the folded ones.</summary>
    private void AssertExportedValues(IReadOnlyList<(string Name, long[] Shape, float[] Values)> exported)
    {
        Assert.Equal(ExpectedNames(), exported.Select(t => t.Name));
        var parameters = model.state_dict();
        // The BatchNorm layers' entries (1.*, 5.*) are not there: the convolutions before them carry them.
        Assert.DoesNotContain(exported, t => t.Name.StartsWith("1.") || t.Name.StartsWith("5."));
        foreach (var (name, shape, values) in exported)
        {
            Assert.Equal(parameters[name].shape, shape);
            var expected = name is "0.weight" or "0.bias" or "4.weight" or "4.bias"
                ? network.Parameters().Single(p => p.Name == name).Values
                : parameters[name].detach().contiguous().data<float>().ToArray();
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), values.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void The_safetensors_export_has_the_sequentials_names_and_the_folded_values()
    {
        using var dir = new TestDirectory();
        var path = dir.File("user.safetensors");
        SafetensorsExporter.Save(path, network);
        AssertExportedValues(SafetensorsReader.Read(path));
    }

    [Python3Fact]
    public void The_pytorch_export_has_the_sequentials_names_and_the_folded_values()
    {
        using var dir = new TestDirectory();
        var path = dir.File("user.pt");
        PyTorchExporter.Save(path, network);
        using var read = JsonDocument.Parse(Python3.Run("Deployment/read_torch_state_dict.py", path));
        var tensors = read.RootElement.GetProperty("tensors").EnumerateArray().Select(t => (
            t.GetProperty("name").GetString()!,
            t.GetProperty("size").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
            t.GetProperty("bits").EnumerateArray().Select(b => BitConverter.UInt32BitsToSingle(b.GetUInt32())).ToArray())).ToList();
        AssertExportedValues(tensors);
    }
}
