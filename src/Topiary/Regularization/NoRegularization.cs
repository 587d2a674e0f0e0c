using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>No regularization: pruning by magnitude alone (Han et al. 2015 without retraining tricks).</summary>
public sealed class NoRegularization : GradientRegularizer
{
    /// <inheritdoc />
    public override string Name => "none";

    /// <summary>True: R = 0 is smooth (its hypergradient is zero).</summary>
    public override bool IsSmoothPenalty => true;

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();
}
