namespace Topiary.Regularization;

/// <summary>
/// How <see cref="DataEmphasizedElbo"/> steps the posterior's standard deviations (their parameters ρ, s = softplus(ρ)),
/// which the model's optimizer does not see.
/// </summary>
public enum PosteriorStdOptimizer
{
    /// <summary>Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8), insensitive to the gradient's scale, which shrinks as 1/E.</summary>
    Adam,

    /// <summary>Plain gradient descent, ρ ← ρ − η·∂/∂ρ (for checking the gradient, or when E is small).</summary>
    Sgd,
}
