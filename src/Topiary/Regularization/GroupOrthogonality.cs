using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Group orthogonalization regularization (GOR) of Kurtz, Bar, Giryes, "Group Orthogonalization Regularization
/// For Vision Models Adaptation and Robustness" (BMVC 2023, arXiv 2306.10001, seed paper #3): the filters of a
/// layer (rows of W, a kernel seen as out × in·k·k) are split into G groups of consecutive filters and each group
/// is pushed to be orthonormal, ∂/∂W_g of ‖W_g·W_gᵀ − I‖_F² being 4(W_g·W_gᵀ − I)·W_g. A set with more filters
/// than inputs cannot have orthonormal rows; it then uses the other Gram side, ‖W_gᵀ·W_g − I‖_F²
/// (gradient 4·W_g·(W_gᵀ·W_g − I)), as the authors' code does. With G = 1 it is <see cref="SoftOrthonormality"/>.
/// <para>
/// The paper's second variant (meant for GroupNorm, whose groups are the same consecutive filters) makes
/// orthonormal the sets S_j = {filter j of every group}, j &lt; m/G: the j-th filters of different groups. In
/// the authors' code (YoavKurtz/GOR, weight_regularization.py) it is the set layout of <c>intra_reg_loss</c>;
/// note that the code's <c>--reg-type</c> names are the reverse of ours. Here it is an optional term with weight β:
/// R(W) = γ·(Σ_g ‖W_g·W_gᵀ − I‖_F² + β·Σ_j ‖S_j·S_jᵀ − I‖_F²) (same rule for tall sets). When G does not divide
/// m, the filters the last group has beyond m/G belong to no S_j.
/// </para>
/// </summary>
public class GroupOrthogonality : GradientRegularizer
{
    /// <summary>
    /// Creates the regularizer with <paramref name="groups"/> groups per layer (the last one takes the remainder) and
    /// weight <paramref name="crossWeight"/> = β on the across-groups term (0: the paper's default, groups only).
    /// </summary>
    public GroupOrthogonality(int groups = 4, double crossWeight = 0)
    {
        if (groups < 1) throw new ArgumentOutOfRangeException(nameof(groups), groups, "at least one group");
        if (!(crossWeight >= 0 && double.IsFinite(crossWeight))) throw new ArgumentOutOfRangeException(nameof(crossWeight), crossWeight, "the across-groups weight must be a finite number ≥ 0");
        Groups = groups;
        CrossWeight = crossWeight;
    }

    /// <summary>G.</summary>
    public int Groups { get; }

    /// <summary>β, the weight of the term over the sets of same-index filters across groups.</summary>
    public double CrossWeight { get; }

    /// <inheritdoc />
    public override string Name => "gor";

    /// <summary>True: R is a polynomial in the weights, stateless, and applied through <see cref="AddGradient"/> alone.</summary>
    public override bool IsSmoothPenalty => true;

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        var rows = WeightMatrix.Rows(weight.detach());
        var gradient = cat(Split(rows).Select(SetGradient).ToList(), 0);
        if (CrossWeight > 0) gradient.add_(CrossGradient(rows), alpha: HeldScalar.Of(CrossWeight));
        grad.add_(gradient.reshape(weight.shape), alpha: HeldScalar.Of(4 * strength));
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        var rows = WeightMatrix.Rows(weight);
        var total = zeros(1, dtype: weight.dtype, device: weight.device).sum();
        foreach (var group in Split(rows)) total = total.add(SetPenalty(group));
        if (CrossWeight > 0) total = total.add(SetPenalty(CrossSets(rows)).mul(HeldScalar.Of(CrossWeight)));
        return total.mul(HeldScalar.Of(strength));
    }

    private IEnumerable<Tensor> Split(Tensor rows)
    {
        var count = GroupCount(rows);
        var size = rows.shape[0] / count;
        for (var g = 0; g < count; g++)
        {
            var start = g * size;
            var length = g == count - 1 ? rows.shape[0] - start : size;
            yield return rows.narrow(0, start, length);
        }
    }

    private int GroupCount(Tensor rows) => Math.Min(Groups, (int)rows.shape[0]);

    // The sets S_j as one batch, (m/G) × G × n: entry [j, g] is filter g·(m/G) + j.
    private Tensor CrossSets(Tensor rows)
    {
        var count = GroupCount(rows);
        var size = rows.shape[0] / count;
        return rows.narrow(0, 0, count * size).reshape(count, size, rows.shape[1]).transpose(0, 1);
    }

    // ∂/∂W of Σ_j ‖Gram(S_j) − I‖² / 4, scattered back to the filters (zero for those in no set).
    private Tensor CrossGradient(Tensor rows)
    {
        var sets = CrossSets(rows);
        var perSet = SetGradient(sets).transpose(0, 1).reshape(-1, rows.shape[1]);
        return cat(new[] { perSet, zeros(rows.shape[0] - perSet.shape[0], rows.shape[1], dtype: rows.dtype, device: rows.device) }, 0);
    }

    // Works on one set (k × n) or a batch of sets (b × k × n): the Gram on the side that can be the identity,
    // S·Sᵀ for wide sets and Sᵀ·S for tall ones.
    private static bool IsWide(Tensor set) => set.shape[^2] <= set.shape[^1];

    private static Tensor Gram(Tensor set) => IsWide(set) ? set.matmul(set.transpose(-1, -2)) : set.transpose(-1, -2).matmul(set);

    private static Tensor SetPenalty(Tensor set)
    {
        var gram = Gram(set);
        return gram.sub(eye(gram.shape[^1], dtype: set.dtype, device: set.device)).square().sum();
    }

    private static Tensor SetGradient(Tensor set)
    {
        var gram = Gram(set);
        var excess = gram.sub(eye(gram.shape[^1], dtype: set.dtype, device: set.device));
        return IsWide(set) ? excess.matmul(set) : set.matmul(excess);
    }
}
