using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Backend;

/// <summary>
/// Compares libtorch's float32 conv2d forward and backward against an independent float64
/// computation (im2col by <c>unfold</c>, then a matrix product), which never touches the
/// oneDNN/mkldnn kernels.
/// </summary>
public static class ConvGradientCheck
{
    /// <summary>Outcome of one comparison: the worst relative error over output, weight and input gradients.</summary>
    public sealed record Result(double OutputError, double WeightGradError, double InputGradError)
    {
        /// <summary>Largest of the three relative errors (NaN counts as infinitely wrong).</summary>
        public double MaxError => new[] { OutputError, WeightGradError, InputGradError }
            .Select(e => double.IsFinite(e) ? e : double.PositiveInfinity).Max();
    }

    /// <summary>
    /// Runs conv2d(x, w) with loss Σ y², in float32 through libtorch and in float64 through
    /// unfold+matmul, and returns max|a−b|/max|b| for y, ∂loss/∂w and ∂loss/∂x.
    /// </summary>
    public static Result Compare(long batch, long inChannels, long size, long outChannels, long kernel, long seed) =>
        Compare(batch, inChannels, size, outChannels, kernel, seed, (x, w) => nn.functional.conv2d(x, w));

    /// <summary>As above, with the float32 convolution under test supplied (tests inject a faulty one).</summary>
    internal static Result Compare(long batch, long inChannels, long size, long outChannels, long kernel, long seed, Func<Tensor, Tensor, Tensor> conv)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var x64 = randn(new[] { batch, inChannels, size, size }, dtype: float64, generator: generator);
        var w64 = randn(new[] { outChannels, inChannels, kernel, kernel }, dtype: float64, generator: generator).div_(Math.Sqrt(inChannels * kernel * kernel));

        var (y32, gw32, gx32) = LibTorchConv(x64.to(float32), w64.to(float32), conv);
        var (y64, gw64, gx64) = ReferenceConv(x64, w64, size - kernel + 1);
        return new Result(RelativeError(y32, y64), RelativeError(gw32, gw64), RelativeError(gx32, gx64));
    }

    private static (Tensor y, Tensor gw, Tensor gx) LibTorchConv(Tensor x, Tensor w, Func<Tensor, Tensor, Tensor> conv)
    {
        x.requires_grad = true;
        w.requires_grad = true;
        var y = conv(x, w);
        y.pow(2).sum().backward();
        return (y.detach(), w.grad!.clone(), x.grad!.clone());
    }

    private static (Tensor y, Tensor gw, Tensor gx) ReferenceConv(Tensor x, Tensor w, long outSize)
    {
        x.requires_grad = true;
        w.requires_grad = true;
        var columns = nn.functional.unfold(x, (w.shape[2], w.shape[3]));          // (N, C·k·k, L)
        var y = w.reshape(w.shape[0], -1).matmul(columns)                         // (N, O, L)
            .reshape(x.shape[0], w.shape[0], outSize, outSize);
        y.pow(2).sum().backward();
        return (y.detach(), w.grad!.clone(), x.grad!.clone());
    }

    private static double RelativeError(Tensor actual, Tensor reference)
    {
        var scale = reference.abs().max().item<double>();
        var diff = actual.to(float64).sub(reference).abs().max().item<double>();
        return scale == 0 ? diff : diff / scale;
    }
}
