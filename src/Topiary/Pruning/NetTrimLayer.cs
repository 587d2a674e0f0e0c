using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Pruning;

/// <summary>The outcome of trimming one layer: the new sparse weights and how well they keep the layer's responses.</summary>
/// <param name="Weight">The trimmed weight (out × in).</param>
/// <param name="Bias">The trimmed bias (out), or null.</param>
/// <param name="RelativeResponseError">‖(X·Uᵀ − Y)_Ω‖_F / ‖Y_Ω‖_F on the calibration batch.</param>
/// <param name="InactiveViolation">Largest positive pre-activation where the original was inactive (0 when the constraint holds).</param>
/// <param name="PrimalResidual">Final ADMM primal residual, relative to ‖Y‖_F.</param>
public sealed record NetTrimLayerResult(Tensor Weight, Tensor? Bias, double RelativeResponseError, double InactiveViolation, double PrimalResidual);

/// <summary>
/// One layer of Net-Trim, Aghasi, Abdi, Romberg, "Fast Convex Pruning of Deep Neural Networks" (SIAM J. Math. Data
/// Science 2020; NeurIPS 2017 "Net-Trim", seed paper #45). Given the layer's inputs X (P samples × n, a column of
/// ones appended for the bias) and its original responses Y = relu(X·Wᵀ) with active set Ω = {Y &gt; 0} (for the
/// last layer Y = X·Wᵀ and Ω is everything), it solves the convex program
/// min ‖U‖₁ s.t. ‖(X·Uᵀ − Y)_Ω‖_F ≤ ε, (X·Uᵀ)_Ωᶜ ≤ 0
/// by ADMM on the splitting V = X·Uᵀ, Z = U: U ← (XᵀX + I)⁻¹(Xᵀ(V − Λ₁) + (Z − Λ₂)ᵀ)ᵀ; V ← Π_C(X·Uᵀ + Λ₁), the
/// projection onto the ε-ball around Y on Ω and onto the non-positive orthant off it; Z ← soft(U + Λ₂, 1/ρ);
/// Λ₁ += X·Uᵀ − V, Λ₂ += U − Z. The sparse Z is returned.
/// </summary>
public static class NetTrimLayer
{
    /// <summary>Trims one linear layer.</summary>
    /// <param name="inputs">X without the ones column (P × n).</param>
    /// <param name="weight">W (m × n).</param>
    /// <param name="bias">b (m), or null.</param>
    /// <param name="relu">Whether the layer is followed by a ReLU (Ω = active set) or is the output layer.</param>
    /// <param name="relativeEpsilon">ε as a fraction of ‖Y_Ω‖_F.</param>
    /// <param name="rho">ADMM penalty ρ.</param>
    /// <param name="iterations">ADMM iterations.</param>
    /// <param name="cancellationToken">Checked between iterations.</param>
    public static NetTrimLayerResult Trim(Tensor inputs, Tensor weight, Tensor? bias, bool relu, double relativeEpsilon = 0.05,
        double rho = 10, int iterations = 200, CancellationToken cancellationToken = default)
    {
        if (!(relativeEpsilon >= 0)) throw new ArgumentOutOfRangeException(nameof(relativeEpsilon), relativeEpsilon, "ε must be ≥ 0");
        if (!(rho > 0)) throw new ArgumentOutOfRangeException(nameof(rho), rho, "ρ must be positive");
        using var _ = no_grad();
        var preActivations = nn.functional.linear(inputs, weight, bias);
        return TrimToResponses(inputs, preActivations, weight.shape[1], bias is not null, relu, relativeEpsilon, rho, iterations, cancellationToken);
    }

    /// <summary>
    /// Trims towards given responses: the sparse layer U (with a bias when <paramref name="withBias"/>) whose
    /// responses to <paramref name="inputs"/> stay within ε of relu(<paramref name="targetPreActivations"/>) on
    /// its active set and non-positive off it. Cascade Net-Trim passes the trimmed network's inputs and the original responses.
    /// </summary>
    public static NetTrimLayerResult TrimToResponses(Tensor inputs, Tensor targetPreActivations, long inputFeatures, bool withBias, bool relu,
        double relativeEpsilon = 0.05, double rho = 10, int iterations = 200, CancellationToken cancellationToken = default)
    {
        if (!(relativeEpsilon >= 0)) throw new ArgumentOutOfRangeException(nameof(relativeEpsilon), relativeEpsilon, "ε must be ≥ 0");
        if (!(rho > 0)) throw new ArgumentOutOfRangeException(nameof(rho), rho, "ρ must be positive");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var dtype = inputs.dtype;
        var x = inputs.to(float64);
        if (withBias) x = cat(new[] { x, ones(x.shape[0], 1, dtype: float64, device: x.device) }, 1);
        var z = targetPreActivations.to(float64);
        var y = relu ? z.clamp_min(HeldScalar.Of(0)) : z;
        var active = relu ? z.gt(HeldScalar.Of(0)) : ones_like(z, dtype: ScalarType.Bool);
        var epsilon = relativeEpsilon * y.mul(active).norm().item<double>();

        var system = linalg.inv(x.t().matmul(x).add(eye(x.shape[1], dtype: float64, device: x.device)));
        var u = zeros(z.shape[1], x.shape[1], dtype: float64, device: x.device);
        var v = z.clone();
        var sparse = u.clone();
        var dual1 = zeros_like(v);
        var dual2 = zeros_like(u);
        var residual = double.PositiveInfinity;
        for (var i = 0; i < iterations; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = NewDisposeScope();
            u.copy_(system.matmul(x.t().matmul(v.sub(dual1)).add(sparse.sub(dual2).t())).t());
            var xu = x.matmul(u.t());
            v.copy_(Project(xu.add(dual1), y, active, epsilon));
            var shifted = u.add(dual2);
            sparse.copy_(shifted.abs().sub(HeldScalar.Of(1 / rho)).clamp_min(HeldScalar.Of(0)).mul(shifted.sign()));
            var primal = xu.sub(v);
            dual1.add_(primal);
            dual2.add_(u.sub(sparse));
            if (i == iterations - 1) residual = primal.norm().item<double>() / Math.Max(y.norm().item<double>(), 1e-300);
        }

        var response = x.matmul(sparse.t());
        var error = response.sub(y).mul(active).norm().item<double>() / Math.Max(y.mul(active).norm().item<double>(), 1e-300);
        var violation = relu ? response.masked_fill(active, HeldScalar.Of(0)).clamp_min(HeldScalar.Of(0)).max().item<double>() : 0;
        var trimmedWeight = sparse.narrow(1, 0, inputFeatures).to(dtype).contiguous();
        var trimmedBias = withBias ? sparse[.., -1].to(dtype).contiguous() : null;
        trimmedWeight.MoveToOuterDisposeScope();
        trimmedBias?.MoveToOuterDisposeScope();
        return new NetTrimLayerResult(trimmedWeight, trimmedBias, error, violation, residual);
    }

    // Π_C: onto the ε-ball around Y on the active set, onto (−∞, 0] elsewhere.
    private static Tensor Project(Tensor point, Tensor y, Tensor active, double epsilon)
    {
        var offset = point.sub(y).mul(active);
        var norm = offset.norm().item<double>();
        var onActive = y.add(norm > epsilon ? offset.mul(HeldScalar.Of(epsilon / norm)) : offset);
        return where(active, onActive, point.clamp_max(HeldScalar.Of(0)));
    }
}
