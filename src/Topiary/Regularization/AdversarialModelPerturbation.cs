using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Adversarial model perturbation (AMP) of Zheng, Zhang, Mao, "Regularizing Neural Networks via Adversarial
/// Model Perturbation" (CVPR 2021, seed paper #7): minimize the AMP loss max_{‖Δ‖₂ ≤ ε} L(θ + Δ) per batch.
/// The inner maximum takes K normalized gradient-ascent steps of size ζ, each projected back onto the ℓ2 ball
/// of radius ε = strength: Δ ← Π_ε(Δ + ζ·∇L(θ+Δ)/‖∇L(θ+Δ)‖); the outer step then applies ∇L(θ + Δ_K) at θ,
/// which is restored bit-exactly. Costs K + 1 forward/backward passes. With K = 1 and ζ = ε it is SAM
/// (<see cref="SharpnessAwareMinimization"/>). Pruned entries are never perturbed.
/// </summary>
public class AdversarialModelPerturbation : GradientRegularizer
{
    /// <summary>Creates AMP with <paramref name="innerSteps"/> = K and inner step <paramref name="innerStepSize"/> = ζ (null: ζ = ε).</summary>
    public AdversarialModelPerturbation(int innerSteps = 2, double? innerStepSize = null)
    {
        if (innerSteps < 1) throw new ArgumentOutOfRangeException(nameof(innerSteps), innerSteps, "at least one inner step");
        if (innerStepSize is { } z && !(z > 0)) throw new ArgumentOutOfRangeException(nameof(innerStepSize), z, "the inner step must be positive");
        InnerSteps = innerSteps;
        InnerStepSize = innerStepSize;
    }

    /// <summary>K.</summary>
    public int InnerSteps { get; }

    /// <summary>ζ, or null for ζ = ε.</summary>
    public double? InnerStepSize { get; }

    /// <summary>‖Δ‖₂ of the last perturbation (for tests: never above ε).</summary>
    public double LastPerturbationNorm { get; private set; }

    /// <inheritdoc />
    public override string Name => "amp";

    /// <inheritdoc />
    public override bool ReplacesBackward => true;

    /// <inheritdoc />
    public override Tensor ComputeGradients(ObjectiveClosure objective, double strength)
    {
        var radius = strength;
        if (!(radius > 0)) return objective.Backward();
        var step = InnerStepSize ?? radius;
        var loss = objective.Backward();
        using var perturbation = new ParameterPerturbation(objective.Parameters);
        using var scope = NewDisposeScope();
        var delta = objective.Parameters.Select(p => zeros_like(p)).ToList();
        for (var k = 0; k < InnerSteps; k++)
        {
            objective.MaskGradients();
            var gradient = perturbation.Gradients();
            var gradientNorm = ParameterVectors.Norm(gradient);
            if (gradientNorm == 0) break;
            for (var i = 0; i < delta.Count; i++) delta[i].add_(gradient[i], alpha: HeldScalar.Of(step / gradientNorm));
            var deltaNorm = ParameterVectors.Norm(delta);
            if (deltaNorm > radius) foreach (var d in delta) d.mul_(HeldScalar.Of(radius / deltaNorm));
            LastPerturbationNorm = Math.Min(deltaNorm, radius);
            perturbation.MoveTo(delta);
            objective.Backward();
        }
        perturbation.Restore();
        return loss;
    }

    /// <summary>Works on gradients: no penalty of the weights alone.</summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1, dtype: weight.dtype, device: weight.device).sum();
}
