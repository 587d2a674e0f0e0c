using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Orthogonality of a convolution through the kernel's self-convolution, the regularizer of Wang et al.,
/// "Orthogonal Convolutional Neural Networks" (CVPR 2020), analysed by Achour, Malgouyres, Mamalet,
/// "Existence, Stability and Scalability of Orthogonal Convolutional Neural Networks" (JMLR 2022, seed paper #24):
/// R(K) = γ·‖conv(K, K, padding k−1) − I_r0‖_F², where conv(K, K) correlates every filter with every other at
/// every shift and I_r0 is 1 at zero shift of a filter with itself, 0 elsewhere. R = 0 exactly when the
/// stride-1 (circular) convolution has orthonormal rows. When the layer has more output than input
/// channels the rows cannot be orthonormal; the regularizer then uses the adjoint's kernel (channels swapped,
/// spatially flipped), which makes the columns orthonormal. Linear layers are 1×1 convolutions. The gradient
/// is taken by autograd of R (a convolution of the kernel with itself, small next to the forward pass).
/// </summary>
public sealed class ConvOrthogonality : GradientRegularizer
{
    /// <inheritdoc />
    public override string Name => "convorth";

    /// <summary>True: R is a polynomial in the weights, stateless, and applied through <see cref="AddGradient"/> alone.</summary>
    public override bool IsSmoothPenalty => true;

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => WeightMatrix.IsMatrixLike(parameter);

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        if (strength == 0) return;
        using var scope = NewDisposeScope();
        grad.add_(WeightMatrix.AutogradOf(weight, w => Penalty(w, w, strength)));
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        var kernel = weight.dim() == 2 ? weight.unsqueeze(-1).unsqueeze(-1) : weight;
        if (kernel.dim() != 4) kernel = WeightMatrix.Rows(weight).unsqueeze(-1).unsqueeze(-1);
        if (kernel.shape[0] > kernel.shape[1]) kernel = kernel.transpose(0, 1).flip(2, 3);
        var (height, width) = (kernel.shape[2], kernel.shape[3]);
        var selfConvolution = nn.functional.conv2d(kernel, kernel, padding: new[] { height - 1, width - 1 });
        var target = zeros_like(selfConvolution);
        var channels = kernel.shape[0];
        using (no_grad())
            for (var c = 0; c < channels; c++) target[c, c, height - 1, width - 1] = 1;
        return selfConvolution.sub(target).square().sum().mul(HeldScalar.Of(strength));
    }
}
