using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// A penalty on the condition number of every weight matrix, after the aim of Saratchandran, Wang and Lucey, "Weight
/// Conditioning for Smooth Optimization of Neural Networks" (ECCV 2024, seed paper #114): narrow the gap between the largest
/// and the smallest singular value, R(W) = γ·log(σ_max/σ_min) = γ·(log σ₁ − log σ_k), k = min(m, n), with the closed-form
/// gradient ∂R/∂W = γ·(u₁v₁ᵀ/σ₁ − u_kv_kᵀ/σ_k) from W's thin SVD (a kernel seen as out × in·k·k).
/// <para>Ours, not the paper's method: the paper conditions the weights by a diagonal equilibration applied to W in the forward
/// pass, which is <see cref="WeightConditioning"/>; this is a soft penalty with the same target, kept for models whose
/// weights should stay as trained (no reparameterization). The logarithm makes it scale-invariant, so it does not shrink or grow the weights. A matrix
/// whose σ_k is at most max(m, n)·ε·σ₁ (rank-deficient, e.g. a pruned-away row) contributes nothing: its κ is infinite and its
/// gradient unbounded. Both gradient terms are rank one and dense, so the loop's masking of the gradient keeps pruned entries
/// at zero.</para>
/// </summary>
public sealed class ConditionNumberPenalty : GradientRegularizer
{
    /// <inheritdoc />
    public override string Name => "cond";

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var matrix = WeightMatrix.Rows(weight.detach()).to(ScalarType.Float64);
        var (u, s, vh) = linalg.svd(matrix, fullMatrices: false);
        var k = s.shape[0] - 1;
        double largest = s[0].item<double>(), smallest = s[k].item<double>();
        if (!WellConditioned(matrix, weight.dtype, largest, smallest)) return;
        var top = outer(u[.., 0], vh[0]).div(HeldScalar.Of(largest));
        var bottom = outer(u[.., k], vh[k]).div(HeldScalar.Of(smallest));
        grad.add_(top.sub(bottom).mul(HeldScalar.Of(strength)).reshape(weight.shape).to(grad.dtype));
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        var matrix = WeightMatrix.Rows(weight);
        var s = linalg.svdvals(matrix);
        var largest = s.max().to(ScalarType.Float64).item<double>();
        var smallest = s.min().to(ScalarType.Float64).item<double>();
        if (!WellConditioned(matrix, weight.dtype, largest, smallest)) return zeros(1, dtype: weight.dtype).sum();
        return s.max().log().sub(s.min().log()).mul(HeldScalar.Of(strength));
    }

    // A numerically singular matrix has no finite condition number; it is left alone rather than given an unbounded gradient.
    private static bool WellConditioned(Tensor matrix, ScalarType dtype, double largest, double smallest) =>
        largest > 0 && smallest > Math.Max(matrix.shape[0], matrix.shape[1]) * Epsilon(dtype) * largest;

    private static double Epsilon(ScalarType dtype) => dtype == ScalarType.Float64 ? 2.220446049250313e-16 : 1.1920929e-7;
}
