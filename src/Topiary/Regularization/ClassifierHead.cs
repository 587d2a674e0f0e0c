using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The last linear layer of a classifier, the one that maps the penultimate representation
/// (<see cref="PenultimateRepresentation"/>) to the logits, for penalties that read the classifier's weights.
/// </summary>
internal static class ClassifierHead
{
    /// <summary>The weight W (classes, d) of the last linear or convolution layer of <paramref name="model"/>, with its graph.</summary>
    /// <exception cref="InvalidOperationException">The model's last such layer is not linear, or it has none.</exception>
    public static Tensor Weight(nn.Module model, string regularizer) =>
        Layer(model, regularizer).weight ?? throw new InvalidOperationException($"regularizer '{regularizer}': the last linear layer has no weight");

    /// <summary>The last linear or convolution layer of <paramref name="model"/>, which must be linear.</summary>
    /// <exception cref="InvalidOperationException">The model's last such layer is not linear, or it has none.</exception>
    public static Linear Layer(nn.Module model, string regularizer)
    {
        var last = model.named_modules().Prepend(("", model)).Select(m => m.Item2)
            .LastOrDefault(m => m is Linear or Conv1d or Conv2d or Conv3d);
        return last as Linear
            ?? throw new InvalidOperationException($"regularizer '{regularizer}' needs a classifier whose last layer is linear (the head that maps the penultimate features to the logits)");
    }
}
