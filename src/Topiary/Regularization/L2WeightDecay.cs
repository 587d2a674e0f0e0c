using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Classical (coupled) weight decay, Krogh and Hertz 1992: R(w) = γ·Σw², ∂R/∂w = 2γw.
/// The factor 2 keeps it equal to <see cref="RelevanceWeightDecay"/> in the limit α → ∞.
/// </summary>
public sealed class L2WeightDecay : GradientRegularizer
{
    /// <inheritdoc />
    public override string Name => "l2";

    /// <inheritdoc />
    public override bool IsSmoothPenalty => true;

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength != 0) grad.add_(weight.detach(), alpha: HeldScalar.Of(2 * strength));
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => weight.square().sum().mul(HeldScalar.Of(strength));
}
