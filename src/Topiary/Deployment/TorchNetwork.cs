using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Deployment;

/// <summary>
/// Runs a <see cref="SequentialNetwork"/> densely with libtorch: the reference that the sparse kernels,
/// simplification and the exporters are checked against, and the way to use a simplified network in TorchSharp.
/// </summary>
public sealed class TorchNetwork : nn.Module<Tensor, Tensor>
{
    private readonly SequentialNetwork network;
    private readonly Tensor?[] weights;
    private readonly Tensor?[] biases;

    /// <summary>Copies the network's parameters into libtorch tensors.</summary>
    public TorchNetwork(SequentialNetwork network) : base("torch_network")
    {
        TorchBackend.EnsureVerified();
        network.Shapes();
        this.network = network;
        weights = new Tensor?[network.Layers.Count];
        biases = new Tensor?[network.Layers.Count];
        for (var i = 0; i < network.Layers.Count; i++)
        {
            (weights[i], biases[i]) = network.Layers[i] switch
            {
                LinearLayer l => (OwnedTensors.Copy(l.Weight, l.OutFeatures, l.InFeatures).DetachFromDisposeScope(), OwnedTensors.Copy(l.Bias, l.Bias.Length).DetachFromDisposeScope()),
                Conv2dLayer c => (OwnedTensors.Copy(c.Weight, c.OutChannels, c.InChannels, c.KernelSize, c.KernelSize).DetachFromDisposeScope(), OwnedTensors.Copy(c.Bias, c.Bias.Length).DetachFromDisposeScope()),
                _ => ((Tensor?)null, (Tensor?)null),
            };
        }
    }

    /// <summary>Input [batch, C, H, W] (or anything that reshapes to it); output [batch, outputs].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = input.reshape(-1, network.InputChannels, network.InputHeight, network.InputWidth);
        for (var i = 0; i < network.Layers.Count; i++)
        {
            x = network.Layers[i] switch
            {
                LinearLayer => nn.functional.linear(x, weights[i]!, biases[i]),
                Conv2dLayer => nn.functional.conv2d(x, weights[i]!, biases[i]),
                MaxPool2dLayer p => nn.functional.max_pool2d(x, p.KernelSize),
                FlattenLayer => x.flatten(1),
                ReluLayer => nn.functional.relu(x),
                var other => throw new InvalidOperationException($"unknown layer kind {other.Kind}"),
            };
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var t in weights.Concat(biases)) t?.Dispose();
        base.Dispose(disposing);
    }
}
