using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Group lasso of Yuan and Lin, "Model selection and estimation in regression with grouped variables"
/// (JRSS-B 2006), over the rows of a linear layer (its output neurons) and the filters of a convolution
/// (as in Wen et al., "Learning Structured Sparsity in Deep Neural Networks", NeurIPS 2016):
/// R(W) = γ·Σ_g √p_g·‖W_g‖₂, with p_g the size of group g. It is applied as its proximal operator after the
/// step (block soft-thresholding), W_g ← W_g·max(0, 1 − η·γ·√p_g/‖W_g‖₂), which removes whole rows/filters.
/// </summary>
public sealed class GroupLasso : GradientRegularizer
{
    /// <inheritdoc />
    public override string Name => "group";

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <inheritdoc />
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var rows = WeightMatrix.Rows(weight);
        var threshold = stepSize * strength * Math.Sqrt(rows.shape[1]);
        var norms = rows.square().sum(1, keepdim: true).sqrt();
        var factor = norms.clamp_min(HeldScalar.Of(1e-30)).reciprocal().mul_(HeldScalar.Of(-threshold)).add_(HeldScalar.Of(1)).clamp_min_(HeldScalar.Of(0));
        weight.copy_(rows.mul(factor).reshape(weight.shape));
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        var rows = WeightMatrix.Rows(weight);
        return rows.square().sum(1).sqrt().sum().mul(HeldScalar.Of(strength * Math.Sqrt(rows.shape[1])));
    }
}
