using static TorchSharp.torch;

namespace Topiary.Backend;

/// <summary>
/// Tensors from managed arrays, copied into libtorch's own memory. TorchSharp's <c>tensor(float[])</c> wraps the
/// pinned array instead, whose address is only 8- or 16-byte aligned; libtorch allocates 64-byte aligned. MKL's
/// matrix kernels choose their code path by alignment, and the paths round differently: two libtorch models with
/// the same weights, one wrapping arrays and one not, differed in the last bit at batch 1. Copies give every weight
/// the alignment a user's own <c>nn.Linear</c> or <c>nn.Conv2d</c> has.
/// </summary>
internal static class OwnedTensors
{
    /// <summary>A contiguous float32 tensor of <paramref name="shape"/> (empty: a scalar) holding a copy of <paramref name="values"/>.</summary>
    public static Tensor Copy(float[] values, params long[] shape)
    {
        using var wrapped = tensor(values);
        using var view = wrapped.reshape(shape);
        return view.clone();
    }
}
