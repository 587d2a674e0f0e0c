using Topiary.Inference;
using static TorchSharp.torch;

namespace Topiary.Bench;

/// <summary>
/// The network on libtorch's own sparse support: linear weights as COO tensors multiplied with
/// <c>torch.sparse.mm</c>-style sparse × dense matmul (Wᵀ applied as W·xᵀ); convolutions stay dense.
/// </summary>
internal sealed class CooNetwork : IDisposable
{
    private readonly SequentialNetwork network;
    private readonly Tensor?[] weights;
    private readonly Tensor?[] biases;

    public CooNetwork(SequentialNetwork network)
    {
        this.network = network;
        weights = new Tensor?[network.Layers.Count];
        biases = new Tensor?[network.Layers.Count];
        for (var i = 0; i < network.Layers.Count; i++)
        {
            switch (network.Layers[i])
            {
                case LinearLayer l:
                    weights[i] = tensor(l.Weight).reshape(l.OutFeatures, l.InFeatures).to_sparse().DetachFromDisposeScope();
                    biases[i] = tensor(l.Bias).reshape(l.OutFeatures, 1).DetachFromDisposeScope();
                    break;
                case Conv2dLayer c:
                    // Cloned into libtorch's own aligned memory, as a user's nn.Conv2d holds it (tensor(float[]) wraps the array).
                    weights[i] = tensor(c.Weight).reshape(c.WeightShape).clone().DetachFromDisposeScope();
                    biases[i] = tensor(c.Bias).DetachFromDisposeScope();
                    break;
            }
        }
    }

    public Tensor Forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = input.reshape(-1, network.InputChannels, network.InputHeight, network.InputWidth);
        for (var i = 0; i < network.Layers.Count; i++)
        {
            x = network.Layers[i] switch
            {
                LinearLayer => weights[i]!.matmul(x.t()).add(biases[i]!).t(),
                Conv2dLayer c => TorchLayers.Conv(x, c, weights[i]!, biases[i]!),
                var other => TorchLayers.Parameterless(x, other),
            };
        }
        return x.contiguous().MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var t in weights.Concat(biases)) t?.Dispose();
    }
}
