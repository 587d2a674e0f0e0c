using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// The Cauchy–Schwarz (CS) regularizers for discrete-valued vectors of Taner, Wang, Studer, "Cauchy-Schwarz
/// Regularizers" (ICLR 2025, seed paper #9), used for quantization-aware training: each filter x ∈ ℝᴺ (a row of W; a
/// kernel seen as out × in·kh·kw) is pulled to a grid whose scale β the regularizer does not fix, so every filter
/// keeps its own β. A CS regularizer is ‖g(x)‖²‖h(x)‖² − ⟨g(x), h(x)⟩², ≥ 0 by the Cauchy–Schwarz inequality and zero
/// exactly when g(x) and h(x) are parallel:
/// <list type="bullet">
/// <item><description>symmetric binary, values in {−β, +β} (<see cref="Levels"/> = 2): g = x∘x, h = 1, so
/// ℓ_bin(x) = N·‖x‖₄⁴ − ‖x‖₂⁴, zero iff all |x_i| are equal; ∂ℓ_bin/∂x = 4N·x∘x∘x − 4‖x‖₂²·x;</description></item>
/// <item><description>symmetric ternary, values in {−β, 0, +β} (<see cref="Levels"/> = 3): g = x, h = x∘x∘x, so
/// ℓ_ter(x) = ‖x‖₂²·‖x‖₆⁶ − ‖x‖₄⁸, zero iff the non-zero |x_i| are equal; ∂ℓ_ter/∂x = 2‖x‖₆⁶·x + 6‖x‖₂²·x⁵ − 8‖x‖₄⁴·x³
/// (powers elementwise). Zeros contribute nothing, so it composes with pruning: a pruned weight is already on the grid.</description></item>
/// </list>
/// R(W) = γ·Σ_i ℓ(w_i), summed over the filters. These are the paper's unnormalized forms.
/// <para>
/// ℓ_bin and ℓ_ter are homogeneous of degree 4 and 8 in the weights: with weights near 0.05 they are tiny, the γ that
/// makes them matter differs by orders of magnitude between layers of different scale and fan-in, and their gradient
/// has a radial part (⟨∇ℓ, x⟩ = 4ℓ resp. 8ℓ) that shrinks the weights towards 0, where ℓ is 0 as well. The normalized
/// form (<see cref="Normalized"/>, the default) divides by the term that carries the scale: ℓ_bin(x)/‖x‖₂⁴ =
/// N·‖x‖₄⁴/‖x‖₂⁴ − 1 ∈ [0, N − 1] and ℓ_ter(x)/‖x‖₄⁸ = ‖x‖₂²‖x‖₆⁶/‖x‖₄⁸ − 1 ≥ 0. Both are invariant to the scale of x,
/// vanish on the same grids, and have a gradient orthogonal to x (it moves the weights along the grid's directions
/// and leaves their norm to the data loss); for a Gaussian filter they are about 2 (binary) and 2/3 (ternary)
/// whatever N and the weights' scale, so one γ fits every layer. That is why it is the default. The raw forms are
/// the CS construction for these pairs (g, h); the normalization is ours, not taken from the paper (of which only the
/// abstract and introduction could be checked here; they say the regularizers choose the scale β themselves).
/// </para>
/// <para>
/// A filter that is all zero contributes 0 and a zero gradient in both forms. The computation works on x/max|x_i|
/// (exact for these homogeneous terms) so that neither the high powers nor the divisions underflow.
/// </para>
/// </summary>
public sealed class CauchySchwarzQuantization : GradientRegularizer
{
    /// <summary>
    /// Creates the regularizer for a grid of <paramref name="levels"/> values (2: {−β, +β}; 3: {−β, 0, +β}),
    /// scale-invariant when <paramref name="normalized"/> (ℓ_bin/‖x‖₂⁴, ℓ_ter/‖x‖₄⁸).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="levels"/> is not 2 or 3.</exception>
    public CauchySchwarzQuantization(int levels = 3, bool normalized = true)
    {
        if (levels is not (2 or 3)) throw new ArgumentOutOfRangeException(nameof(levels), levels, $"levels must be 2 (binary) or 3 (ternary), got {levels}");
        Levels = levels;
        Normalized = normalized;
    }

    /// <summary>2 for the symmetric binary grid {−β, +β}, 3 for the symmetric ternary grid {−β, 0, +β}.</summary>
    public int Levels { get; }

    /// <summary>Whether ℓ is divided by ‖x‖₂⁴ (binary) or ‖x‖₄⁸ (ternary), which makes it independent of the weights' scale.</summary>
    public bool Normalized { get; }

    /// <inheritdoc />
    public override string Name => "cs";

    /// <summary>True: R is a polynomial in the weights, stateless, and applied through <see cref="AddGradient"/> alone.</summary>
    public override bool IsSmoothPenalty => true;

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    // The degree of homogeneity of R in the weights.
    private int Degree => Normalized ? 0 : Levels == 2 ? 4 : 8;

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        var (u, scale, zero) = Scaled(WeightMatrix.Rows(weight.detach()));
        var terms = Terms(u, zero);
        // ℓ(x) = s^d·ℓ(x/s), so ∂ℓ/∂x = s^(d−1)·∇ℓ(u); divided rather than multiplied by s⁻¹ so that no 0·∞ arises.
        var gradient = Degree == 0 ? terms.Gradient.div(scale) : terms.Gradient.mul(scale.pow(HeldScalar.Of(Degree - 1)));
        grad.add_(gradient.reshape(weight.shape), alpha: HeldScalar.Of(strength));
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        using var scope = NewDisposeScope();
        var rows = WeightMatrix.Rows(weight);
        // The scale is a constant: s^d·ℓ(x/s) equals ℓ(x) for every s > 0, so autograd through this is ∂ℓ/∂x.
        var (_, scale, zero) = Scaled(rows.detach());
        var terms = Terms(rows.div(scale), zero);
        var perRow = Degree == 0 ? terms.Value : terms.Value.mul(scale.squeeze(1).pow(HeldScalar.Of(Degree)));
        return perRow.sum().mul(HeldScalar.Of(strength)).MoveToOuterDisposeScope();
    }

    // The rows divided by their largest |x_i| (an all-zero row by 1), that scale, and 1 on the all-zero rows (0 elsewhere).
    private static (Tensor Rows, Tensor Scale, Tensor Zero) Scaled(Tensor rows)
    {
        var largest = rows.abs().amax(new long[] { 1 }, keepdim: true);
        var zero = largest.eq(HeldScalar.Of(0));
        var scale = largest.masked_fill(zero, HeldScalar.Of(1));
        return (rows.div(scale), scale, zero.to_type(rows.dtype));
    }

    // ℓ and ∂ℓ/∂u per row of u, normalized if asked. Every sum of even powers of a non-zero row of u is ≥ 1 (its largest
    // |u_i| is 1), so adding `zero` to a denominator changes only the all-zero rows, whose numerators are 0.
    private (Tensor Value, Tensor Gradient) Terms(Tensor u, Tensor zero)
    {
        var n = u.shape[1];
        var u2 = u.square();
        var u3 = u2.mul(u);
        var s2 = u2.sum(1, keepdim: true);
        var s4 = u2.square().sum(1, keepdim: true);
        Tensor value, gradient, denominator, denominatorGradient;
        if (Levels == 2)
        {
            value = s4.mul(HeldScalar.Of(n)).sub(s2.square());
            gradient = u3.mul(HeldScalar.Of(4 * n)).sub(u.mul(s2).mul(HeldScalar.Of(4)));
            denominator = s2.square();
            denominatorGradient = u.mul(s2).mul(HeldScalar.Of(4));
        }
        else
        {
            var s6 = u2.square().mul(u2).sum(1, keepdim: true);
            value = s2.mul(s6).sub(s4.square());
            gradient = u.mul(s6).mul(HeldScalar.Of(2)).add(u3.mul(u2).mul(s2).mul(HeldScalar.Of(6))).sub(u3.mul(s4).mul(HeldScalar.Of(8)));
            denominator = s4.square();
            denominatorGradient = u3.mul(s4).mul(HeldScalar.Of(8));
        }
        if (!Normalized) return (value.squeeze(1), gradient);
        // Quotient rule for f = ℓ/B: ∇f = (∇ℓ − f·∇B)/B.
        var safe = denominator.add(zero);
        var ratio = value.div(safe);
        return (ratio.squeeze(1), gradient.sub(denominatorGradient.mul(ratio)).div(safe));
    }
}
