namespace Topiary.Regularization;

/// <summary>
/// Sharpness-aware minimization of Foret, Kleiner, Mobahi, Neyshabur (ICLR 2021): ε̂ = ρ·∇L(θ)/‖∇L(θ)‖₂ with
/// ρ = strength, then the gradient ∇L(θ + ε̂) is applied at θ. Two forward/backward passes. It is the one-step
/// case of <see cref="AdversarialModelPerturbation"/> (K = 1, ζ = ε), as Zheng et al. note (seed paper #7).
/// </summary>
public sealed class SharpnessAwareMinimization : AdversarialModelPerturbation
{
    /// <summary>Creates SAM.</summary>
    public SharpnessAwareMinimization() : base(innerSteps: 1) { }

    /// <inheritdoc />
    public override string Name => "sam";
}
