using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Inference;

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
            if (network.Layers[i] is not WeightedLayer layer) continue;
            var (weight, bias) = TorchLayers.Parameters(layer);
            (weights[i], biases[i]) = (weight.DetachFromDisposeScope(), bias.DetachFromDisposeScope());
        }
    }

    /// <summary>Input [batch, C, H, W] (or anything that reshapes to it); output [batch, outputs].</summary>
    public override Tensor forward(Tensor input) => Forward(input, weightedInput: null);

    /// <summary>
    /// The forward pass with <paramref name="weightedInput"/>, where given, called on the input of every weighted layer
    /// (a tensor it must not modify): what it returns is what the layer reads, so it may observe the activations
    /// (calibration) or replace them (a simulation of quantized activations). Its tensors belong to this call's scope.
    /// </summary>
    internal Tensor Forward(Tensor input, Func<WeightedLayer, Tensor, Tensor>? weightedInput)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = input.reshape(-1, network.InputChannels, network.InputHeight, network.InputWidth);
        for (var i = 0; i < network.Layers.Count; i++)
        {
            if (weightedInput is not null && network.Layers[i] is WeightedLayer weighted) x = weightedInput(weighted, x);
            x = network.Layers[i] switch
            {
                LinearLayer => TorchLayers.Linear(x, weights[i]!, biases[i]!),
                Conv2dLayer c => TorchLayers.Conv(x, c, weights[i]!, biases[i]!),
                var other => TorchLayers.Parameterless(x, other),
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
