using Topiary.Backend;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Analysis;

/// <summary>One dense layer's factor in the Koopman-based bound.</summary>
/// <param name="Name">The layer's module name.</param>
/// <param name="Rank">r = min(out, in), the number of singular values that enter the determinant.</param>
/// <param name="SpectralNorm">σ₁(W).</param>
/// <param name="ConditionNumber">σ₁/σ_r (∞ when W is rank-deficient).</param>
/// <param name="Log10Factor">log₁₀ of ‖W‖^s / det_r(WᵀW)^{1/4} with s = <see cref="Exponent"/> (∞ when rank-deficient).</param>
/// <param name="Exponent">The exponent s of ‖W‖.</param>
public sealed record KoopmanLayerFactor(string Name, long Rank, double SpectralNorm, double ConditionNumber, double Log10Factor, double Exponent);

/// <summary>
/// The weight-dependent factor of the Koopman-based generalization bound of Hashimoto, Sonoda, Ishikawa, Nitanda,
/// Suzuki, "Koopman-based generalization bound: New aspect for full-rank weights" (ICLR 2024, seed paper #70): the
/// Rademacher complexity of a network whose layers are x ↦ σ(W_j x + b_j) is bounded by a constant (the Koopman
/// operators of the activations and the final function's Sobolev norm) times ∏_j ‖W_j‖^{s_j}/det(W_jᵀW_j)^{1/4},
/// where s_j is the Sobolev order of layer j's input space. The factor is 1 for orthogonal weights whatever the
/// width, and grows with the condition number, unlike norm-product bounds, which favour low rank.
/// Adapted: (1) the paper needs injective W_j (out ≥ in); LeNet's dense layers shrink (out &lt; in), so the
/// determinant is taken over the r = min(out, in) non-zero singular values, det_r(WᵀW) = ∏_{i ≤ r} σ_i²;
/// (2) s_j defaults to r/2, the least order the bound admits (s > d/2) taken at its limit, which makes the factor
/// scale-invariant: ∏_{i ≤ r}(σ₁/σ_i)^{1/2}. Only the dense (Linear) layers are measured; the paper's bound for
/// convolutions needs their input spaces' Sobolev orders and is not reproduced. Computed in log₁₀ because the factor
/// overflows a double for a 500-wide layer.
/// </summary>
public static class KoopmanBound
{
    /// <summary>The factor of one weight matrix; <paramref name="exponent"/> null means s = r/2.</summary>
    public static KoopmanLayerFactor Layer(string name, Tensor weight, double? exponent = null)
    {
        if (weight.dim() != 2) throw new ArgumentException($"{name}: expected a matrix, got shape [{string.Join(", ", weight.shape)}]", nameof(weight));
        if (exponent is < 0 || exponent is double.NaN) throw new ArgumentOutOfRangeException(nameof(exponent), exponent, "the exponent must be ≥ 0");
        using var scope = NewDisposeScope();
        var sigma = linalg.svdvals(weight.detach().cpu().to(float64));
        var rank = sigma.shape[0];
        var top = sigma[0].item<double>();
        var smallest = sigma[rank - 1].item<double>();
        var s = exponent ?? rank / 2.0;
        // log det_r(WᵀW)^{1/4} = ½·Σ log σ_i; a zero σ_i makes the factor infinite.
        var halfLogDet = smallest > 0 ? 0.5 * sigma.log10().sum().item<double>() : double.NegativeInfinity;
        var log10 = top > 0 ? s * Math.Log10(top) - halfLogDet : double.PositiveInfinity;
        return new KoopmanLayerFactor(name, rank, top, smallest > 0 ? top / smallest : double.PositiveInfinity, log10, s);
    }

    /// <summary>The factor of every Linear layer of <paramref name="model"/>, in module order.</summary>
    public static IReadOnlyList<KoopmanLayerFactor> Layers(nn.Module<Tensor, Tensor> model, double? exponent = null)
    {
        TorchBackend.EnsureVerified();
        return model.named_modules().Where(m => m.module is Linear)
            .Select(m => Layer(m.name, ((Linear)m.module).weight!, exponent)).ToList();
    }

    /// <summary>log₁₀ of the product of the layer factors: their sum.</summary>
    public static double Log10Product(IEnumerable<KoopmanLayerFactor> layers) => layers.Sum(l => l.Log10Factor);
}
