using static TorchSharp.torch;

namespace Topiary.Tuning;

/// <summary>What <see cref="ConjugateGradient.Solve"/> found.</summary>
/// <param name="Solution">The iterate it stopped at (tensors in the caller's dispose scope).</param>
/// <param name="Products">Matrix–vector products used.</param>
/// <param name="RelativeResidual">‖A·x − b‖ / ‖b‖ at the iterate (0 when b = 0).</param>
/// <param name="Converged">Whether the residual reached the tolerance.</param>
/// <param name="NegativeCurvature">Whether it stopped on a direction p with pᵀA·p ≤ 0 (A not positive definite there).</param>
internal sealed record ConjugateGradientResult(Tensor[] Solution, int Products, double RelativeResidual, bool Converged, bool NegativeCurvature);
