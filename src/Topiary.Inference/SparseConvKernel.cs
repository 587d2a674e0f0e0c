using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Topiary.Inference;

/// <summary>
/// Direct sparse 2-D convolution (stride 1, no padding) without im2col: the weight [out, in·kh·kw] is held in CSR,
/// and every stored w[o, (i, dy, dx)] adds w · x[i, y+dy, dx .. dx+W′) to each output row y of channel o, so the
/// work is non-zeros × output pixels and the inner loop is contiguous over the output width (8 lanes at a time).
/// Input [batch, in, H, W], output [batch, out, H−kh+1, W−kw+1], both row-major. (batch, out-channel) planes are
/// split across threads when the work is large enough. Other strides and paddings: <see cref="StridedSparseConvKernel"/>.
/// </summary>
public static class SparseConvKernel
{
    /// <summary>
    /// Computes the convolution; <paramref name="offsets"/> from <see cref="InputOffsets(CsrMatrix, int, int, int)"/>. Input and output may be
    /// managed buffers or a tensor's own memory, and must not overlap.
    /// </summary>
    public static void Forward(CsrMatrix weight, int[] offsets, float[] bias, int kernelSize, int inChannels, int height, int width,
        ReadOnlySpan<float> input, Span<float> output, int batch) =>
        Forward(weight, offsets, bias, kernelSize, kernelSize, inChannels, height, width, input, output, batch);

    /// <summary>The same for a kh×kw kernel; <paramref name="offsets"/> from <see cref="InputOffsets(CsrMatrix, int, int, int, int)"/>.</summary>
    internal static void Forward(CsrMatrix weight, int[] offsets, float[] bias, int kernelHeight, int kernelWidth, int inChannels, int height, int width,
        ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        int outHeight = height - kernelHeight + 1, outWidth = width - kernelWidth + 1, planes = batch * weight.Rows;
        if (input.Length < (long)batch * inChannels * height * width || output.Length < (long)planes * outHeight * outWidth || bias.Length != weight.Rows)
            throw new ArgumentException("input, output or bias has the wrong length");
        var work = (long)weight.Nonzero * batch * outHeight * outWidth;
        if (KernelIsa.Avx2Fma) Planes<FusedMultiplyAdd>(weight, offsets, bias, inChannels * height * width, width, outHeight, outWidth, input, output, planes, work);
        else Planes<SeparateMultiplyAdd>(weight, offsets, bias, inChannels * height * width, width, outHeight, outWidth, input, output, planes, work);
    }

    private static unsafe void Planes<TMultiplyAdd>(CsrMatrix weight, int[] offsets, float[] bias, int sampleSize, int width, int outHeight, int outWidth,
        ReadOnlySpan<float> input, Span<float> output, int planes, long work)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        fixed (float* ip = input, op = output)
        {
            if (work < SparseLinearKernel.ParallelThreshold * 4 || KernelThreads.Count == 1)
            {
                for (var plane = 0; plane < planes; plane++) Plane<TMultiplyAdd>(weight, offsets, bias, sampleSize, width, outHeight, outWidth, ip, op, plane);
                return;
            }
            // Both stay pinned until the helpers are done; a lambda cannot capture the pointers themselves.
            nint source = (nint)ip, target = (nint)op;
            KernelWorkers.For(planes, plane => Plane<TMultiplyAdd>(weight, offsets, bias, sampleSize, width, outHeight, outWidth, (float*)source, (float*)target, plane));
        }
    }

    /// <summary>For each stored weight, the offset of its (channel, dy, dx) in one input sample: i·H·W + dy·W + dx.</summary>
    public static int[] InputOffsets(CsrMatrix weight, int kernelSize, int height, int width) => InputOffsets(weight, kernelSize, kernelSize, height, width);

    /// <summary>The same for a kh×kw kernel.</summary>
    internal static int[] InputOffsets(CsrMatrix weight, int kernelHeight, int kernelWidth, int height, int width)
    {
        var offsets = new int[weight.Nonzero];
        for (var k = 0; k < offsets.Length; k++)
        {
            var (channel, dy, dx) = Tap(weight.ColumnIndex[k], kernelHeight, kernelWidth);
            offsets[k] = channel * height * width + dy * width + dx;
        }
        return offsets;
    }

    /// <summary>The (input channel, row, column) of weight column <paramref name="column"/> = i·kh·kw + dy·kw + dx.</summary>
    internal static (int Channel, int Dy, int Dx) Tap(int column, int kernelHeight, int kernelWidth) =>
        (column / (kernelHeight * kernelWidth), column / kernelWidth % kernelHeight, column % kernelWidth);

    /// <summary>Runs <paramref name="plane"/> for every (sample, out-channel) plane, across threads when the work is large enough.</summary>
    internal static void ForEachPlane(int planes, long work, Action<int> plane)
    {
        if (work < SparseLinearKernel.ParallelThreshold * 4 || KernelThreads.Count == 1)
        {
            for (var p = 0; p < planes; p++) plane(p);
            return;
        }
        KernelWorkers.For(planes, plane);
    }

    // Fully optimized from the first call: tier-0 code would make the first calls (and calibration) look slow.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Plane<TMultiplyAdd>(CsrMatrix weight, int[] offsets, float[] bias, int sampleSize, int width, int outHeight, int outWidth,
        float* ip, float* op, int plane)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        int sample = plane / weight.Rows, channel = plane % weight.Rows;
        int start = weight.RowStart[channel], end = weight.RowStart[channel + 1];
        fixed (float* vp = weight.Values)
        fixed (int* offp = offsets)
        {
            var source = ip + (long)sample * sampleSize;
            var target = op + (long)plane * outHeight * outWidth;
            for (var y = 0; y < outHeight; y++)
            {
                var row = target + y * outWidth;
                for (var x = 0; x < outWidth; x++) row[x] = bias[channel];
                for (var k = start; k < end; k++)
                {
                    var v = vp[k];
                    var from = source + offp[k] + y * width;
                    var w = Vector256.Create(v);
                    var x = 0;
                    for (; x + 8 <= outWidth; x += 8)
                    {
                        TMultiplyAdd.Apply(w, Vector256.Load(from + x), Vector256.Load(row + x)).Store(row + x);
                    }
                    for (; x < outWidth; x++) row[x] += v * from[x];
                }
            }
        }
    }
}
