using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Topiary.Inference;

/// <summary>
/// The float32 storage of a contiguous CPU tensor as a span over libtorch's own memory, so the managed kernels read
/// their input and write their output in the tensors themselves (<c>data&lt;float&gt;()</c>'s accessor copies
/// element by element, which costs more than a sparse layer at batch 1).
/// </summary>
internal static class NativeFloats
{
    public static Span<float> Of(Tensor tensor)
    {
        if (tensor.dtype != float32 || tensor.device_type != TorchSharp.DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException("expected a contiguous float32 CPU tensor", nameof(tensor));
        return MemoryMarshal.Cast<byte, float>(tensor.bytes);
    }

    /// <summary>
    /// <see cref="Of"/> without its checks, for a tensor the caller knows to be contiguous float32 on the CPU with
    /// <paramref name="count"/> elements (falls back to <see cref="Of"/> when the native export is unavailable).
    /// </summary>
    public static unsafe Span<float> OfKnown(Tensor tensor, int count)
    {
        var pointer = Topiary.Backend.LibTorchNative.DataPointer(tensor);
        return pointer == IntPtr.Zero ? Of(tensor)[..count] : new Span<float>((void*)pointer, count);
    }
}
