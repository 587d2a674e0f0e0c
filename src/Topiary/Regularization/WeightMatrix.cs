using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>Views of weight tensors shared by the structured regularizers.</summary>
internal static class WeightMatrix
{
    /// <summary>A linear weight as is, a convolution kernel as (out channels × in·k·k): one row per filter.</summary>
    public static Tensor Rows(Tensor weight) => weight.reshape(weight.shape[0], -1);

    /// <summary>Whether the tensor is a matrix or a kernel (not a bias).</summary>
    public static bool IsMatrixLike(Tensor parameter) => parameter.dim() >= 2;

    /// <summary>
    /// ∂R/∂w by autograd on a detached copy of <paramref name="weight"/>, for penalties whose closed-form
    /// gradient is not worth writing out; costs one small backward pass over R alone.
    /// </summary>
    public static Tensor AutogradOf(Tensor weight, Func<Tensor, Tensor> penalty)
    {
        using var enable = enable_grad();
        var leaf = weight.detach().clone().requires_grad_();
        var value = penalty(leaf);
        return autograd.grad(new[] { value }, new[] { leaf })[0].detach();
    }
}
