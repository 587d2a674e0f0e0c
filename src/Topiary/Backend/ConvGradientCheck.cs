using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Backend;

/// <summary>
/// Compares libtorch's float32 convolution, forward and backward, against an independent float64 computation
/// (im2col by <c>unfold</c>, then a matrix product per channel group), which never touches the oneDNN (mkldnn)
/// kernels: oneDNN has no float64 path, and no convolution operator is called.
/// </summary>
public static class ConvGradientCheck
{
    /// <summary>Outcome of one comparison: relative errors of the output and of both gradients.</summary>
    public sealed record Result(double OutputError, double WeightGradError, double InputGradError)
    {
        /// <summary>Largest of the three relative errors (NaN counts as infinitely wrong).</summary>
        public double MaxError => new[] { OutputError, WeightGradError, InputGradError }
            .Select(e => double.IsFinite(e) ? e : double.PositiveInfinity).Max();
    }

    /// <summary>
    /// Runs the convolution of <paramref name="convolution"/> with loss Σ y², in float32 through libtorch's
    /// <c>conv1d</c>/<c>conv2d</c> and in float64 through unfold + matmul, and returns max|a−b| / max|b| for y,
    /// ∂loss/∂w and ∂loss/∂x. Inputs are standard normal, weights scaled by 1/√fan-in, drawn from <paramref name="seed"/>.
    /// </summary>
    public static Result Compare(ConvolutionCase convolution, long seed) => Compare(convolution, seed, (x, w) => Convolve(convolution, x, w));

    /// <summary>The 2-D, stride-1, unpadded case: <c>conv2d</c> of [batch, in, size, size] with [out, in, kernel, kernel].</summary>
    public static Result Compare(long batch, long inChannels, long size, long outChannels, long kernel, long seed) =>
        Compare(new ConvolutionCase($"conv2d {inChannels}→{outChannels} {kernel}×{kernel}", 2, batch, inChannels, outChannels, size, kernel), seed);

    /// <summary>As above, with the float32 convolution under test supplied (tests inject a faulty one).</summary>
    internal static Result Compare(long batch, long inChannels, long size, long outChannels, long kernel, long seed, Func<Tensor, Tensor, Tensor> conv) =>
        Compare(new ConvolutionCase("injected", 2, batch, inChannels, outChannels, size, kernel), seed, conv);

    /// <summary>As <see cref="Compare(ConvolutionCase, long)"/>, with the float32 convolution under test supplied.</summary>
    internal static Result Compare(ConvolutionCase convolution, long seed, Func<Tensor, Tensor, Tensor> conv)
    {
        convolution.Validate();
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var generator = new Generator((ulong)seed);
        var fanIn = convolution.WeightShape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var x64 = randn(convolution.InputShape, dtype: float64, generator: generator);
        var w64 = randn(convolution.WeightShape, dtype: float64, generator: generator).div_(HeldScalar.Of(Math.Sqrt(fanIn)));

        var (y32, gw32, gx32) = Differentiate(x64.to(float32), w64.to(float32), conv);
        var (y64, gw64, gx64) = Differentiate(x64.clone(), w64.clone(), (x, w) => Reference(convolution, x, w));
        return new Result(RelativeError(y32, y64), RelativeError(gw32, gw64), RelativeError(gx32, gx64));
    }

    /// <summary>libtorch's own operator for the case, as a user's <c>Conv1d</c>/<c>Conv2d</c> module calls it.</summary>
    internal static Tensor Convolve(ConvolutionCase c, Tensor x, Tensor w) => c.Dimensions == 1
        ? nn.functional.conv1d(x, w, stride: c.Stride, padding: c.Padding, dilation: c.Dilation, groups: c.Groups)
        : nn.functional.conv2d(x, w, strides: new[] { c.Stride, c.Stride }, padding: new[] { c.Padding, c.Padding },
            dilation: new[] { c.Dilation, c.Dilation }, groups: c.Groups);

    private static (Tensor y, Tensor gw, Tensor gx) Differentiate(Tensor x, Tensor w, Func<Tensor, Tensor, Tensor> conv)
    {
        x.requires_grad = true;
        w.requires_grad = true;
        var y = conv(x, w);
        y.pow(HeldScalar.Of(2)).sum().backward();
        return (y.detach(), w.grad!.clone(), x.grad!.clone());
    }

    /// <summary>
    /// The convolution as im2col and a product: unfold gives [batch, in·taps, positions] with each channel's taps
    /// together, so group g owns a contiguous block of rows, and y_g = W_g [out/G, (in/G)·taps] · columns_g.
    /// A 1-D input is unfolded as an image of height 1.
    /// </summary>
    internal static Tensor Reference(ConvolutionCase c, Tensor x, Tensor w)
    {
        var image = c.Dimensions == 1 ? x.unsqueeze(2) : x;
        var kernel = c.Dimensions == 1 ? (1L, c.Kernel) : (c.Kernel, c.Kernel);
        var columns = nn.functional.unfold(image, kernel,
            dilation: (c.Dimensions == 1 ? 1 : c.Dilation, c.Dilation),
            padding: (c.Dimensions == 1 ? 0 : c.Padding, c.Padding),
            stride: (c.Dimensions == 1 ? 1 : c.Stride, c.Stride));                         // [N, in·taps, L]
        var positions = columns.shape[2];
        var grouped = columns.reshape(c.Batch, c.Groups, -1, positions);                    // [N, G, (in/G)·taps, L]
        var weights = w.reshape(c.Groups, c.OutChannels / c.Groups, -1);                  // [G, out/G, (in/G)·taps]
        var y = weights.unsqueeze(0).matmul(grouped);                                      // [N, G, out/G, L]
        var outputShape = c.Dimensions == 1
            ? new[] { c.Batch, c.OutChannels, c.OutputSize }
            : new[] { c.Batch, c.OutChannels, c.OutputSize, c.OutputSize };
        return y.reshape(outputShape);
    }

    private static double RelativeError(Tensor actual, Tensor reference)
    {
        var scale = reference.abs().max().item<double>();
        var diff = actual.to(float64).sub(reference).abs().max().item<double>();
        return scale == 0 ? diff : diff / scale;
    }
}
