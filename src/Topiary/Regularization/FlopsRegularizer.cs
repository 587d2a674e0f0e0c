using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// The FLOPs regularizer of Paria, Yeh, Yen, Xu, Ravikumar, Póczos, "Minimizing FLOPs to Learn Efficient Sparse
/// Representations" (ICLR 2020, seed paper #44): a continuous relaxation of the expected cost of multiplying
/// a sparse activation by the next layer's weights, F(A) = Σ_j ((1/N)·Σ_i |a_ij|)² over a batch of N rows
/// and the activation's dimensions j. At equal L1 mass it is smallest when the non-zeros are spread evenly
/// over the dimensions, which L1 cannot tell apart. Topiary applies it to the input of every linear and
/// convolution layer after the first (the activations the next weights multiply): R = γ·Σ_layers F.
/// </summary>
public sealed class FlopsRegularizer : GradientRegularizer
{
    /// <inheritdoc />
    public override string Name => "flops";

    /// <inheritdoc />
    public override bool NeedsActivations => true;

    /// <summary>F(A) for one activation tensor (batch first).</summary>
    public static Tensor Flops(Tensor activation) => activation.flatten(1).abs().mean(new long[] { 0 }).square().sum();

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        if (strength == 0) return null;
        if (context.Activations.Count == 0)
            throw new InvalidOperationException("the FLOPs regularizer saw no hidden activation: the model needs a linear or convolution layer after the first, invoked through Module.call so that forward hooks run");
        var total = Flops(context.Activations[0]);
        foreach (var activation in context.Activations.Skip(1)) total = total.add(Flops(activation));
        return total.mul(HeldScalar.Of(strength));
    }

    /// <summary>Acts on activations, not on weights: zero.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();
}
