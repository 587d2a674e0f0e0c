using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Topiary.Deployment;

/// <summary>
/// Direct sparse 2-D convolution (stride 1, no padding) without im2col: the weight [out, in·k·k] is held in CSR,
/// and every stored w[o, (i, dy, dx)] adds w · x[i, y+dy, dx .. dx+W′) to each output row y of channel o, so the
/// work is non-zeros × output pixels and the inner loop is contiguous over the output width (8 lanes at a time).
/// Input [batch, in, H, W], output [batch, out, H−k+1, W−k+1], both row-major. (batch, out-channel) planes are
/// split across threads when the work is large enough.
/// </summary>
public static class SparseConvKernel
{
    /// <summary>
    /// Computes the convolution; <paramref name="offsets"/> from <see cref="InputOffsets"/>. Input and output may be
    /// managed buffers or a tensor's own memory, and must not overlap.
    /// </summary>
    public static unsafe void Forward(CsrMatrix weight, int[] offsets, float[] bias, int kernelSize, int inChannels, int height, int width,
        ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        int outHeight = height - kernelSize + 1, outWidth = width - kernelSize + 1, planes = batch * weight.Rows;
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
    public static int[] InputOffsets(CsrMatrix weight, int kernelSize, int height, int width)
    {
        var offsets = new int[weight.Nonzero];
        for (var k = 0; k < offsets.Length; k++)
        {
            var column = weight.ColumnIndex[k];
            int channel = column / (kernelSize * kernelSize), dy = column / kernelSize % kernelSize, dx = column % kernelSize;
            offsets[k] = channel * height * width + dy * width + dx;
        }
        return offsets;
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
