using Topiary.Backend;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Analysis;

/// <summary>The Gram-iteration bound of one layer.</summary>
/// <param name="Name">The layer's module name.</param>
/// <param name="Kind">linear or conv.</param>
/// <param name="InputSize">Spatial size of a convolution's input (0 for linear layers).</param>
/// <param name="Bound">Upper bound on the layer's spectral norm (its Lipschitz constant in ℓ2).</param>
public sealed record LayerLipschitz(string Name, string Kind, long InputSize, double Bound);

/// <summary>
/// Per-layer Lipschitz bounds of a network by Gram iteration (<see cref="GramIteration"/>) and their product,
/// an upper bound on the Lipschitz constant of a chain of these layers with 1-Lipschitz activations and
/// pooling (ReLU, max-pool). Biases do not change Lipschitz constants.
/// </summary>
public static class LipschitzAnalysis
{
    /// <summary>Bounds every linear and conv layer of <paramref name="model"/>; one forward pass on <paramref name="sampleInput"/> finds the convolutions' input sizes.</summary>
    public static IReadOnlyList<LayerLipschitz> Layers(nn.Module<Tensor, Tensor> model, Tensor sampleInput, int iterations = 8, CancellationToken cancellationToken = default)
    {
        TorchBackend.EnsureVerified();
        var sizes = new Dictionary<nn.Module, long>();
        var removers = new List<Action>();
        foreach (var (_, module) in model.named_modules())
            if (module is Conv2d conv)
            {
                var remover = conv.register_forward_pre_hook((m, input) => { sizes[m] = input.shape[^1]; return input; });
                removers.Add(remover.remove);
            }
        using (no_grad())
        using (NewDisposeScope())
            model.forward(sampleInput);
        foreach (var remove in removers) remove();

        var result = new List<LayerLipschitz>();
        foreach (var (name, module) in model.named_modules())
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            switch (module)
            {
                case Linear linear:
                    result.Add(new LayerLipschitz(name, "linear", 0, GramIteration.SpectralNormBound(linear.weight!.detach(), iterations)));
                    break;
                case Conv2d conv:
                    var size = sizes.GetValueOrDefault(conv, conv.weight!.shape[^1]);
                    result.Add(new LayerLipschitz(name, "conv", size, GramIteration.ConvolutionBound(conv.weight!.detach(), size, iterations)));
                    break;
            }
        }
        return result;
    }

    /// <summary>The product of the layer bounds.</summary>
    public static double Product(IEnumerable<LayerLipschitz> layers) => layers.Aggregate(1.0, (product, layer) => product * layer.Bound);
}
