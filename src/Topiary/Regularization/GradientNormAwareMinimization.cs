using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Gradient norm aware minimization (GAM) of Zhang, Xu, Cui, "Gradient Norm Aware Minimization Seeks First-Order Flatness
/// and Improves Generalization" (CVPR 2023, seed paper #17): minimize L(θ) + α·R⁽¹⁾_ρ(θ), the first-order flatness
/// R⁽¹⁾_ρ(θ) = ρ·max_{‖δ‖ ≤ ρ} ‖∇L(θ + δ)‖, α = strength. The inner maximum takes one normalized ascent step along
/// ∇‖∇L‖(θ) = H(θ)·∇L(θ)/‖∇L(θ)‖: δ = ρ·u₀/‖u₀‖ with u₀ = H ĝ₀, ĝ₀ = ∇L(θ)/‖∇L(θ)‖; the gradient of the penalty is
/// then taken at θ + δ with δ held constant (as SAM does): ρ·H(θ+δ)·ĝ₁, ĝ₁ = ∇L(θ+δ)/‖∇L(θ+δ)‖, and the step applies
/// ∇L(θ) + α·ρ·H(θ+δ)·ĝ₁ at θ, which is restored bit-exactly. Both Hessian–vector products along unit vectors are forward
/// differences of gradients, H v ≈ (∇L(θ + h·v) − ∇L(θ))/h, h = <see cref="DifferenceStep"/>: the training loop hands a
/// regularizer that replaces the backward pass an objective it can only back-propagate, not differentiate twice, and the
/// differences cost one backward pass each instead of a double backward (exact on a quadratic loss). Four forward/backward
/// passes per step. This is the paper's first-order term alone; its combination with SAM (the zeroth-order term and the
/// gradient decomposition of its Algorithm 2) is left out. Pruned entries are never perturbed.
/// </summary>
public sealed class GradientNormAwareMinimization : GradientRegularizer
{
    /// <summary>Creates GAM.</summary>
    /// <param name="radius">ρ, the radius of the first-order flatness.</param>
    /// <param name="differenceStep">h, the step of the finite differences that give the Hessian–vector products.</param>
    /// <exception cref="ArgumentOutOfRangeException">ρ or h is not a positive number.</exception>
    public GradientNormAwareMinimization(double radius = 0.05, double differenceStep = 0.01)
    {
        if (!(radius > 0 && double.IsFinite(radius))) throw new ArgumentOutOfRangeException(nameof(radius), radius, $"rho must be a number > 0, got {radius}");
        if (!(differenceStep > 0 && double.IsFinite(differenceStep)))
            throw new ArgumentOutOfRangeException(nameof(differenceStep), differenceStep, $"the difference step h must be a number > 0, got {differenceStep}");
        Radius = radius;
        DifferenceStep = differenceStep;
    }

    /// <summary>ρ.</summary>
    public double Radius { get; }

    /// <summary>h.</summary>
    public double DifferenceStep { get; }

    /// <summary>ρ·‖∇L(θ + δ)‖ of the last step, the one-step estimate of the first-order flatness (0 before any).</summary>
    public double LastFirstOrderFlatness { get; private set; }

    /// <inheritdoc />
    public override string Name => "gam";

    /// <inheritdoc />
    public override bool ReplacesBackward => true;

    /// <inheritdoc />
    public override Tensor ComputeGradients(ObjectiveClosure objective, double strength)
    {
        if (strength == 0) return objective.Backward();
        var loss = objective.Backward();
        objective.MaskGradients();
        using var perturbation = new ParameterPerturbation(objective.Parameters);
        using var scope = NewDisposeScope();
        var plain = perturbation.Gradients();
        var ascent = HessianAlongGradient(objective, perturbation, ParameterVectors.Zeros(plain), plain);
        var ascentNorm = ParameterVectors.Norm(ascent);
        var delta = ascentNorm == 0 ? ParameterVectors.Zeros(plain) : ascent.Select(u => u.mul(HeldScalar.Of(Radius / ascentNorm))).ToArray();
        perturbation.MoveTo(delta);
        objective.Backward();
        objective.MaskGradients();
        var perturbed = perturbation.Gradients();
        LastFirstOrderFlatness = Radius * ParameterVectors.Norm(perturbed);
        var penaltyGradient = HessianAlongGradient(objective, perturbation, delta, perturbed);
        perturbation.Restore();
        using (no_grad())
            for (var i = 0; i < plain.Count; i++)
                objective.Parameters[i].grad?.copy_(plain[i].add(penaltyGradient[i], alpha: HeldScalar.Of(strength * Radius)));
        return loss;
    }

    // H(θ₀+δ)·g/‖g‖ ≈ (∇L(θ₀ + δ + h·g/‖g‖) − g)/h for the gradient g at θ₀ + δ (zero when g is); one backward pass.
    private IReadOnlyList<Tensor> HessianAlongGradient(ObjectiveClosure objective, ParameterPerturbation perturbation,
        IReadOnlyList<Tensor> delta, IReadOnlyList<Tensor> gradient)
    {
        var norm = ParameterVectors.Norm(gradient);
        if (norm == 0) return ParameterVectors.Zeros(gradient);
        perturbation.MoveTo(delta.Select((d, i) => d.add(gradient[i], alpha: HeldScalar.Of(DifferenceStep / norm))).ToList());
        objective.Backward();
        objective.MaskGradients();
        var stepped = perturbation.Gradients();
        return stepped.Select((s, i) => s.sub(gradient[i]).div(HeldScalar.Of(DifferenceStep))).ToArray();
    }

    /// <summary>Works on gradients: no penalty of the weights alone.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();
}
