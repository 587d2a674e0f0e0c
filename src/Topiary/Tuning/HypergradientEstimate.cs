namespace Topiary.Tuning;

/// <summary>One implicit hypergradient, dF/dθ = −λ·(∂R/∂w)ᵀ·q with H·q = ∇_w F solved by conjugate gradients.</summary>
/// <param name="LogGradient">dF/dθ, the derivative of the validation loss in θ = log m.</param>
/// <param name="Tolerance">The relative residual asked of the solve.</param>
/// <param name="Products">Hessian-vector products the solve used.</param>
/// <param name="RelativeResidual">‖H·q − ∇F‖ / ‖∇F‖ reached.</param>
/// <param name="Converged">Whether the residual reached <paramref name="Tolerance"/>.</param>
/// <param name="NegativeCurvature">Whether the solve stopped early at a direction of non-positive curvature of H.</param>
public sealed record HypergradientEstimate(double LogGradient, double Tolerance, int Products, double RelativeResidual,
    bool Converged, bool NegativeCurvature);
