using Topiary.Inference;
using Topiary.Models;
using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Tests.Deployment;

/// <summary>Randomly initialised catalog models pruned by global magnitude, as networks and as modules.</summary>
internal static class PrunedNetworks
{
    public static nn.Module<Tensor, Tensor> Model(string architecture, double sparsity, int seed = 3)
    {
        manual_seed(seed);
        var model = ModelCatalog.Create(architecture);
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
        GlobalMagnitudePruner.PruneCount(masks, (long)Math.Round(sparsity * masks.Total));
        return model;
    }

    public static SequentialNetwork Network(string architecture, double sparsity, int seed = 3)
    {
        using var model = Model(architecture, sparsity, seed);
        return CatalogNetworks.FromModel(architecture, 28, model);
    }

    public static Tensor Images(int batch, int seed = 5) => randn(new long[] { batch, 1, 28, 28 }, generator: new Generator((ulong)seed));

    public static float MaxDifference(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        Assert.Equal(a.shape, b.shape);
        return a.sub(b).abs().max().item<float>();
    }
}
