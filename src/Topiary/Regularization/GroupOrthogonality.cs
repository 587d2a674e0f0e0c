using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Group orthogonalization regularization (GOR) of Kurtz, Bar, Giryes, "Group Orthogonalization Regularization
/// For Vision Models Adaptation and Robustness" (seed paper #3): the filters of a layer (rows of W, a kernel
/// seen as out × in·k·k) are split into G groups of consecutive filters and each group is pushed to be
/// orthonormal, R(W) = γ·Σ_g ‖W_g·W_gᵀ − I‖_F², ∂R/∂W_g = 4γ·(W_g·W_gᵀ − I)·W_g. A group with more filters
/// than inputs cannot have orthonormal rows; it then uses the other Gram side, ‖W_gᵀ·W_g − I‖_F²
/// (gradient 4γ·W_g·(W_gᵀ·W_g − I)). With G = 1 it is <see cref="SoftOrthonormality"/>.
/// </summary>
public class GroupOrthogonality : GradientRegularizer
{
    /// <summary>Creates the regularizer with <paramref name="groups"/> groups per layer (the last one takes the remainder).</summary>
    public GroupOrthogonality(int groups = 4)
    {
        if (groups < 1) throw new ArgumentOutOfRangeException(nameof(groups), groups, "at least one group");
        Groups = groups;
    }

    /// <summary>G.</summary>
    public int Groups { get; }

    /// <inheritdoc />
    public override string Name => "gor";

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        var rows = WeightMatrix.Rows(weight.detach());
        var gradient = cat(Split(rows).Select(GroupGradient).ToList(), 0);
        grad.add_(gradient.reshape(weight.shape), alpha: 4 * strength);
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        var total = zeros(1, dtype: weight.dtype).sum();
        foreach (var group in Split(WeightMatrix.Rows(weight)))
            total = total.add(Gram(group).sub(eye(Gram(group).shape[0], dtype: weight.dtype)).square().sum());
        return total.mul(strength);
    }

    private IEnumerable<Tensor> Split(Tensor rows)
    {
        var count = Math.Min(Groups, (int)rows.shape[0]);
        var size = rows.shape[0] / count;
        for (var g = 0; g < count; g++)
        {
            var start = g * size;
            var length = g == count - 1 ? rows.shape[0] - start : size;
            yield return rows.narrow(0, start, length);
        }
    }

    // The Gram matrix on the side that can be the identity: W·Wᵀ for wide groups, Wᵀ·W for tall ones.
    private static Tensor Gram(Tensor group) => group.shape[0] <= group.shape[1] ? group.matmul(group.t()) : group.t().matmul(group);

    private static Tensor GroupGradient(Tensor group)
    {
        var identity = eye(Math.Min(group.shape[0], group.shape[1]), dtype: group.dtype);
        return group.shape[0] <= group.shape[1]
            ? group.matmul(group.t()).sub(identity).matmul(group)
            : group.matmul(group.t().matmul(group).sub(identity));
    }
}
