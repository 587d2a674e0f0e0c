using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Norm Loss of Georgiou et al., "Norm Loss: An efficient yet effective regularization method for deep neural
/// networks" (ICPR 2020, seed paper #35): a soft constraint that keeps every filter (row of W; a kernel seen as
/// out × in·k·k) on the unit sphere, i.e. W on the oblique manifold: R(W) = γ·Σ_i (1 − ‖w_i‖₂)²,
/// ∂R/∂w_i = −2γ·(1 − ‖w_i‖)·w_i/‖w_i‖.
/// </summary>
public sealed class NormLoss : GradientRegularizer
{
    /// <inheritdoc />
    public override string Name => "normloss";

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        var rows = WeightMatrix.Rows(weight.detach());
        var norms = rows.square().sum(1, keepdim: true).sqrt().clamp_min(HeldScalar.Of(1e-12));
        var gradient = rows.div(norms).mul(norms.neg().add(HeldScalar.Of(1))).mul(HeldScalar.Of(-2 * strength));
        grad.add_(gradient.reshape(weight.shape));
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) =>
        WeightMatrix.Rows(weight).square().sum(1).sqrt().neg().add(HeldScalar.Of(1)).square().sum().mul(HeldScalar.Of(strength));
}
