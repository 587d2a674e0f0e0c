using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The representation h that the last linear or convolution layer reads (for a classifier, the features its final
/// layer maps to logits), batch first and flattened to (B, d), for penalties on the geometry of the features.
/// </summary>
internal static class PenultimateRepresentation
{
    /// <summary>The last recorded activation of <paramref name="context"/>, flattened, with its graph.</summary>
    /// <exception cref="InvalidOperationException">No activation was recorded (the model has a single linear/conv layer).</exception>
    public static Tensor Of(RegularizationContext context, string regularizer)
    {
        if (context.Activations.Count == 0)
            throw new InvalidOperationException($"regularizer '{regularizer}' saw no hidden representation: the model needs a linear or convolution layer after the first, invoked through Module.call so that forward hooks run");
        return context.Activations[^1].flatten(1);
    }
}
