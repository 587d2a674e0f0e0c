using Topiary.Backend;
using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

/// <summary>
/// Every instruction-set path of the sparse kernels that this CPU can run (AVX-512, AVX2 + FMA, portable) gives
/// dense libtorch's output to a tolerance: the paths round differently (FMA or not, lane-blocks or gathers), so
/// no bit-identity is asked across them.
/// </summary>
public class KernelPathTests
{
    public static TheoryData<KernelInstructionSet, string> Paths()
    {
        var data = new TheoryData<KernelInstructionSet, string>();
        foreach (var set in KernelIsa.Supported)
            foreach (var architecture in new[] { "lenet300", "lenet5" })
                data.Add(set, architecture);
        return data;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Each_path_matches_dense_libtorch(KernelInstructionSet set, string architecture)
    {
        using var forced = KernelIsa.Force(set);
        Assert.Equal(set, KernelIsa.Active);
        var network = PrunedNetworks.Network(architecture, 0.9);
        using var dense = new TorchNetwork(network);
        // Every layer on Topiary's kernels, whatever its density.
        using var sparse = new SparseInferenceModel(network, new[] { new SparseCrossover(int.MaxValue, 2.0) });
        foreach (var batch in new[] { 1, 3, 40 })
        {
            using var x = PrunedNetworks.Images(batch, seed: batch);
            Assert.All(sparse.Plan(batch), layer => Assert.True(layer.SparseAtBatch[batch], $"{layer.Name} fell back"));
            var difference = PrunedNetworks.MaxDifference(dense.forward(x), sparse.Forward(x));
            Assert.True(difference <= 1e-4, $"{set}, batch {batch}: {difference}");
        }
    }

    [Fact]
    public void Forcing_a_set_the_CPU_lacks_gives_the_widest_it_has()
    {
        using (KernelIsa.Force(KernelInstructionSet.Avx512)) Assert.Equal(KernelIsa.Supported[^1], KernelIsa.Active);
        using (KernelIsa.Force(KernelInstructionSet.Portable))
        {
            Assert.False(LaneBlockKernel.IsSupported);
            Assert.Equal(KernelInstructionSet.Portable, KernelIsa.Active);
        }
    }
}
