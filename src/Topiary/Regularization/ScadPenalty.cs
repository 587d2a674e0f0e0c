using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// The SCAD penalty of Fan and Li, "Variable selection via nonconcave penalized likelihood and its oracle
/// properties" (JASA 2001), applied as its proximal operator after each step, as in Yang and Zhang's
/// accelerated proximal gradient for nonconvex sparse learning (seed paper #63, "Accelerated Gradient
/// Methods for Sparse Statistical Learning with Nonconvex Penalties"). With λ = strength and a &gt; 2:
/// p(x) = λ|x| for |x| ≤ λ; (2aλ|x| − x² − λ²)/(2(a−1)) for λ &lt; |x| ≤ aλ; λ²(a+1)/2 beyond.
/// Its prox with step η (needs a &gt; 1 + η), argmin_x ½(x − z)² + η·p(x):
/// sign(z)·max(|z| − ηλ, 0) for |z| ≤ (1+η)λ; ((a−1)z − sign(z)·aηλ)/(a − 1 − η) for (1+η)λ &lt; |z| ≤ aλ; z beyond.
/// Large weights are left unbiased, unlike L1. With <c>accelerated</c>, FISTA's extrapolation follows each prox
/// (<see cref="ProximalPenalty"/>; <c>--reg scad:λ:fista</c>).
/// </summary>
public sealed class ScadPenalty : ProximalPenalty
{
    /// <summary>Creates the penalty with shape <paramref name="a"/> (Fan and Li recommend 3.7); <paramref name="accelerated"/> adds FISTA's extrapolation.</summary>
    public ScadPenalty(double a = 3.7, bool accelerated = false) : base(accelerated)
    {
        if (!(a > 2)) throw new ArgumentOutOfRangeException(nameof(a), a, $"SCAD needs a > 2, got {a}");
        A = a;
    }

    /// <summary>a.</summary>
    public double A { get; }

    /// <inheritdoc />
    public override string Name => "scad";

    /// <inheritdoc />
    public override void Prox(Tensor weight, double strength, double stepSize)
    {
        if (!(A > 1 + stepSize)) throw new InvalidOperationException($"the SCAD prox needs a > 1 + step size (a = {A}, step {stepSize})");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var z = weight.detach();
        var magnitude = z.abs();
        var sign = z.sign();
        var soft = magnitude.sub(HeldScalar.Of(stepSize * strength)).clamp_min(HeldScalar.Of(0)).mul(sign);
        var middle = z.mul(HeldScalar.Of(A - 1)).sub(sign.mul(HeldScalar.Of(A * stepSize * strength))).div(HeldScalar.Of(A - 1 - stepSize));
        var result = where(magnitude.le(HeldScalar.Of((1 + stepSize) * strength)), soft, where(magnitude.le(HeldScalar.Of(A * strength)), middle, z));
        weight.copy_(result);
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        var x = weight.abs();
        var lambda = strength;
        var linear = x.mul(HeldScalar.Of(lambda));
        var quadratic = x.mul(HeldScalar.Of(2 * A * lambda)).sub(x.square()).sub(HeldScalar.Of(lambda * lambda)).div(HeldScalar.Of(2 * (A - 1)));
        var flat = ones_like(x).mul(HeldScalar.Of(lambda * lambda * (A + 1) / 2));
        return where(x.le(HeldScalar.Of(lambda)), linear, where(x.le(HeldScalar.Of(A * lambda)), quadratic, flat)).sum();
    }
}
