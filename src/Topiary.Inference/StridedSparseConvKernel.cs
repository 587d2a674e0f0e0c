using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Topiary.Inference;

/// <summary>
/// Direct sparse 2-D convolution for any <see cref="Window2d"/> (rectangular kernels, strides, zero padding), the
/// general form of <see cref="SparseConvKernel"/>: every stored w[o, (i, dy, dx)] adds w · x[i, y·sh − ph + dy,
/// x·sw − pw + dx] to output (o, y, x) for the outputs whose input pixel lies inside the image (the padding is
/// zeros, so the others get nothing). The in-image range of x is worked out once per weight (<see cref="Taps"/>), the
/// row test once per output row, so the inner loop has no bounds tests: contiguous and 8 lanes at a time for stride
/// 1, strided otherwise. Input [batch, in, H, W], output [batch, out, H′, W′], both row-major.
/// </summary>
internal static class StridedSparseConvKernel
{
    /// <summary>Where one stored weight reads in a sample.</summary>
    /// <param name="ChannelOffset">i·H·W.</param>
    /// <param name="Dy">Kernel row minus the top padding: output row y reads input row y·sh + Dy.</param>
    /// <param name="Dx">Kernel column minus the left padding: output column x reads input column x·sw + Dx.</param>
    /// <param name="FirstX">The first output column whose input column is inside the image.</param>
    /// <param name="EndX">One past the last such column.</param>
    internal readonly record struct Tap(int ChannelOffset, int Dy, int Dx, int FirstX, int EndX);

    /// <summary>The tap of every stored weight for inputs <paramref name="height"/>×<paramref name="width"/>.</summary>
    public static Tap[] Taps(CsrMatrix weight, Window2d window, int height, int width)
    {
        var outWidth = window.OutputWidth(width);
        var taps = new Tap[weight.Nonzero];
        for (var k = 0; k < taps.Length; k++)
        {
            var (channel, dy, dx) = SparseConvKernel.Tap(weight.ColumnIndex[k], window.KernelHeight, window.KernelWidth);
            var shift = dx - window.PaddingWidth;
            // x·sw + shift ∈ [0, W): x ≥ ⌈−shift / sw⌉ and x ≤ ⌊(W − 1 − shift) / sw⌋.
            var first = shift >= 0 ? 0 : (-shift + window.StrideWidth - 1) / window.StrideWidth;
            var end = width - 1 - shift < 0 ? 0 : Math.Min(outWidth, (width - 1 - shift) / window.StrideWidth + 1);
            taps[k] = new Tap(channel * height * width, dy - window.PaddingHeight, shift, first, Math.Max(first, end));
        }
        return taps;
    }

    /// <summary>Computes the convolution; <paramref name="taps"/> from <see cref="Taps"/>. Input and output must not overlap.</summary>
    public static unsafe void Forward(CsrMatrix weight, Tap[] taps, float[] bias, Window2d window, int inChannels, int height, int width,
        ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        int outHeight = window.OutputHeight(height), outWidth = window.OutputWidth(width), planes = batch * weight.Rows;
        if (input.Length < (long)batch * inChannels * height * width || output.Length < (long)planes * outHeight * outWidth || bias.Length != weight.Rows || taps.Length != weight.Nonzero)
            throw new ArgumentException("input, output, bias or taps has the wrong length");
        var geometry = new Geometry(inChannels * height * width, height, width, outHeight, outWidth, window.StrideHeight, window.StrideWidth);
        var work = (long)weight.Nonzero * batch * outHeight * outWidth;
        fixed (float* ip = input, op = output)
        {
            // Both stay pinned until every plane is done; a lambda cannot capture the pointers themselves.
            nint source = (nint)ip, target = (nint)op;
            if (KernelIsa.Avx2Fma) SparseConvKernel.ForEachPlane(planes, work, p => Plane<FusedMultiplyAdd>(weight, taps, bias, geometry, (float*)source, (float*)target, p));
            else SparseConvKernel.ForEachPlane(planes, work, p => Plane<SeparateMultiplyAdd>(weight, taps, bias, geometry, (float*)source, (float*)target, p));
        }
    }

    private readonly record struct Geometry(int SampleSize, int Height, int Width, int OutHeight, int OutWidth, int StrideHeight, int StrideWidth);

    // Fully optimized from the first call: tier-0 code would make the first calls look slow.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Plane<TMultiplyAdd>(CsrMatrix weight, Tap[] taps, float[] bias, Geometry g, float* ip, float* op, int plane)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        int sample = plane / weight.Rows, channel = plane % weight.Rows;
        int start = weight.RowStart[channel], end = weight.RowStart[channel + 1];
        fixed (float* vp = weight.Values)
        fixed (Tap* tp = taps)
        {
            var source = ip + (long)sample * g.SampleSize;
            var target = op + (long)plane * g.OutHeight * g.OutWidth;
            for (var y = 0; y < g.OutHeight; y++)
            {
                var row = target + y * g.OutWidth;
                for (var x = 0; x < g.OutWidth; x++) row[x] = bias[channel];
                for (var k = start; k < end; k++)
                {
                    var tap = tp[k];
                    var inputRow = y * g.StrideHeight + tap.Dy;
                    if ((uint)inputRow >= (uint)g.Height) continue;
                    var v = vp[k];
                    // Input column x·sw + Dx of this row; only the in-image columns [FirstX, EndX) are read.
                    var from = source + tap.ChannelOffset + (long)inputRow * g.Width + tap.Dx;
                    var x = tap.FirstX;
                    if (g.StrideWidth == 1)
                    {
                        var w = Vector256.Create(v);
                        for (; x + 8 <= tap.EndX; x += 8)
                            TMultiplyAdd.Apply(w, Vector256.Load(from + x), Vector256.Load(row + x)).Store(row + x);
                        for (; x < tap.EndX; x++) row[x] += v * from[x];
                    }
                    else
                    {
                        for (; x < tap.EndX; x++) row[x] += v * from[(long)x * g.StrideWidth];
                    }
                }
            }
        }
    }
}
