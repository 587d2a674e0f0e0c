using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Forward finite-difference gradient regularization (F-GR) of Karakida, Takase, Hayase, Osawa, "Understanding
/// Gradient Regularization in Deep Learning: Efficient Finite-Difference Computation and Implicit Bias"
/// (ICML 2023, seed paper #40). The objective L + (γ/2)·‖∇L‖² has gradient ∇L + γ·H·∇L; F-GR replaces the
/// Hessian–vector product by a forward difference with ascent step h:
/// g = (1 − γ/h)·∇L(θ) + (γ/h)·∇L(θ + h·∇L(θ)), γ = strength. Two forward/backward passes and no double
/// backpropagation; θ is restored bit-exactly. With h = γ it is un-normalized SAM.
/// </summary>
public sealed class FiniteDifferenceGradientRegularization : GradientRegularizer
{
    /// <summary>Creates F-GR with ascent step <paramref name="ascentStep"/> = h.</summary>
    public FiniteDifferenceGradientRegularization(double ascentStep = 0.1)
    {
        if (!(ascentStep > 0)) throw new ArgumentOutOfRangeException(nameof(ascentStep), ascentStep, "the ascent step must be positive");
        AscentStep = ascentStep;
    }

    /// <summary>h.</summary>
    public double AscentStep { get; }

    /// <inheritdoc />
    public override string Name => "fgr";

    /// <inheritdoc />
    public override bool ReplacesBackward => true;

    /// <inheritdoc />
    public override Tensor ComputeGradients(ObjectiveClosure objective, double strength)
    {
        var loss = objective.Backward();
        if (strength == 0) return loss;
        objective.MaskGradients();
        using var perturbation = new ParameterPerturbation(objective.Parameters);
        using var scope = NewDisposeScope();
        var first = perturbation.Gradients();
        perturbation.MoveTo(first.Select(g => g.mul(HeldScalar.Of(AscentStep))).ToList());
        objective.Backward();
        perturbation.Restore();
        var ratio = strength / AscentStep;
        using (no_grad())
            for (var i = 0; i < first.Count; i++)
                objective.Parameters[i].grad?.mul_(HeldScalar.Of(ratio)).add_(first[i], alpha: HeldScalar.Of(1 - ratio));
        return loss;
    }

    /// <summary>Works on gradients: no penalty of the weights alone.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();
}
