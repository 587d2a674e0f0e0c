using Topiary.Inference;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

/// <summary>Sparse model files written by earlier format versions keep loading, to the same network and outputs.</summary>
public class LegacySparseFileTests
{
    [Fact]
    public void A_version_1_file_loads_to_the_network_it_was_written_from_and_runs_identically()
    {
        var expected = LegacySparseFixture.Network();
        var loaded = SparseModelFile.Load(LegacySparseFixture.Path);

        Assert.Null(loaded.Architecture);
        Assert.Equal("format version 1", loaded.Metadata["fixture"]!.GetValue<string>());
        Assert.Equal(expected.InputShape, loaded.Network.InputShape);
        Assert.Equal(expected.Layers.Select(l => l.Kind), loaded.Network.Layers.Select(l => l.Kind));
        Assert.Equal(expected.Shapes(), loaded.Network.Shapes());
        var parameters = expected.Parameters().Zip(loaded.Network.Parameters()).ToList();
        Assert.Equal(expected.Parameters().Count(), parameters.Count);
        foreach (var (e, a) in parameters)
        {
            Assert.Equal(e.Name, a.Name);
            Assert.Equal(e.Shape, a.Shape);
            Assert.Equal(e.Values.Select(BitConverter.SingleToInt32Bits), a.Values.Select(BitConverter.SingleToInt32Bits));
        }

        using var scope = NewDisposeScope();
        using var original = new TorchNetwork(expected);
        using var reloaded = new TorchNetwork(loaded.Network);
        var x = randn(new long[] { 5, 2, 9, 9 }, generator: new Generator(4));
        Assert.True(TensorAssert.Same(original.forward(x), reloaded.forward(x)));
    }
}
