using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Elastic net of Zou and Hastie, "Regularization and variable selection via the elastic net" (JRSS-B 2005):
/// R(w) = γ·(ρ·Σ|w| + (1 − ρ)·Σw²). The L2 part is added to the gradient (2γ(1−ρ)w); the L1 part is applied
/// as its proximal soft-threshold after the step, w ← sign(w)·max(|w| − η·γ·ρ, 0), so weights reach exact zeros.
/// </summary>
public sealed class ElasticNet : GradientRegularizer
{
    /// <summary>Creates the regularizer with L1 share <paramref name="l1Ratio"/> = ρ ∈ [0, 1].</summary>
    public ElasticNet(double l1Ratio = 0.5)
    {
        if (!(l1Ratio >= 0 && l1Ratio <= 1)) throw new ArgumentOutOfRangeException(nameof(l1Ratio), l1Ratio, "the L1 ratio must lie in [0, 1]");
        L1Ratio = l1Ratio;
    }

    /// <summary>ρ.</summary>
    public double L1Ratio { get; }

    /// <inheritdoc />
    public override string Name => "elastic";

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength != 0) grad.add_(weight.detach(), alpha: HeldScalar.Of(2 * strength * (1 - L1Ratio)));
    }

    /// <inheritdoc />
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize) =>
        new L1ProximalDecay().Project(weight, grad, strength * L1Ratio, stepSize);

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) =>
        weight.abs().sum().mul(HeldScalar.Of(L1Ratio)).add(weight.square().sum().mul(HeldScalar.Of(1 - L1Ratio))).mul(HeldScalar.Of(strength));
}
