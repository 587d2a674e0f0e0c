using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// L1 regularization R(w) = γ·Σ|w| applied as its proximal operator after each optimizer step
/// (soft-thresholding, Tibshirani 1996; Beck and Teboulle 2009, ISTA):
/// w ← sign(w)·max(|w| − η·γ, 0) with η the learning rate. Unlike a subgradient step it puts
/// weights at exact zeros.
/// </summary>
public sealed class L1ProximalDecay : GradientRegularizer
{
    /// <inheritdoc />
    public override string Name => "l1";

    /// <inheritdoc />
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var threshold = strength * stepSize;
        var shrunk = weight.abs().sub_(HeldScalar.Of(threshold)).clamp_min_(HeldScalar.Of(0)).mul_(weight.sign());
        weight.copy_(shrunk);
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => weight.abs().sum().mul(HeldScalar.Of(strength));
}
