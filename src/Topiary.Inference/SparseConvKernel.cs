using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Topiary.Inference;

/// <summary>
/// Direct sparse 2-D convolution (stride 1, no padding) without im2col: the weight [out, in·kh·kw] is held in CSR,
/// and every stored w[o, (i, dy, dx)] adds w · x[i, y+dy, dx .. dx+W′) to each output row y of channel o, so the
/// work is non-zeros × output pixels and the inner loop is contiguous over the output width (8 lanes at a time).
/// Input [batch, in, H, W], output [batch, out, H−kh+1, W−kw+1], both row-major. (batch, out-channel) planes are
/// split across threads when the work is large enough. Other strides and paddings run on it through a <see cref="PhaseLayout"/>.
/// </summary>
public static class SparseConvKernel
{
    /// <summary>
    /// Computes the convolution; <paramref name="offsets"/> from <see cref="InputOffsets(CsrMatrix, int, int, int)"/>. Input and output may be
    /// managed buffers or a tensor's own memory, and must not overlap.
    /// </summary>
    public static void Forward(CsrMatrix weight, int[] offsets, float[] bias, int kernelSize, int inChannels, int height, int width,
        ReadOnlySpan<float> input, Span<float> output, int batch) =>
        Forward(weight, offsets, bias, kernelSize, kernelSize, inChannels, height, width, input, output, batch, relu: false);

    /// <summary>The same for a kh×kw kernel, with a ReLU on the output when <paramref name="relu"/>; <paramref name="offsets"/> from <see cref="InputOffsets(CsrMatrix, int, int, int, int)"/>.</summary>
    internal static void Forward(CsrMatrix weight, int[] offsets, float[] bias, int kernelHeight, int kernelWidth, int inChannels, int height, int width,
        ReadOnlySpan<float> input, Span<float> output, int batch, bool relu)
    {
        Forward(weight, offsets, bias, inChannels * height * width, width, height - kernelHeight + 1, width - kernelWidth + 1, input, output, batch, relu);
    }

    /// <summary>
    /// The convolution on samples of <paramref name="sampleSize"/> values whose rows are <paramref name="width"/>
    /// apart, into <paramref name="outHeight"/>×<paramref name="outWidth"/> planes: output (y, x) of weight k is
    /// input[offsets[k] + y·width + x]. For other windows the input is first put in a <see cref="PhaseLayout"/>.
    /// </summary>
    internal static void Forward(CsrMatrix weight, int[] offsets, float[] bias, int sampleSize, int width, int outHeight, int outWidth,
        ReadOnlySpan<float> input, Span<float> output, int batch, bool relu)
    {
        var planes = batch * weight.Rows;
        if (input.Length < (long)batch * sampleSize || output.Length < (long)planes * outHeight * outWidth || bias.Length != weight.Rows || offsets.Length != weight.Nonzero)
            throw new ArgumentException("input, output, bias or offsets has the wrong length");
        var work = (long)weight.Nonzero * batch * outHeight * outWidth;
        var geometry = new Geometry(sampleSize, width, outHeight, outWidth, relu);
        // Rows at least 8 wide run on the register tiles; narrower ones on the row-by-row form.
        var tiles = outWidth >= 8 ? Tiles.GetOrAdd((width, outHeight, outWidth), key => OutputTiles.For(key.Width, key.OutHeight, key.OutWidth)) : null;
        if (KernelIsa.Avx2Fma) Planes<FusedMultiplyAdd>(weight, offsets, bias, geometry, tiles, input, output, planes, work);
        else Planes<SeparateMultiplyAdd>(weight, offsets, bias, geometry, tiles, input, output, planes, work);
    }

    private readonly record struct Geometry(int SampleSize, int Width, int OutHeight, int OutWidth, bool Relu);

    // Worked out once per shape: a network has a handful.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int Width, int OutHeight, int OutWidth), OutputTiles> Tiles = new();

    private static unsafe void Planes<TMultiplyAdd>(CsrMatrix weight, int[] offsets, float[] bias, Geometry g, OutputTiles? tiles,
        ReadOnlySpan<float> input, Span<float> output, int planes, long work)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        fixed (float* ip = input, op = output)
        {
            // Both stay pinned until the helpers are done; a lambda cannot capture the pointers themselves.
            nint source = (nint)ip, target = (nint)op;
            if (tiles is not null) ForEachPlane(planes, work, plane => TiledPlane<TMultiplyAdd>(weight, offsets, bias, g, tiles, (float*)source, (float*)target, plane));
            else ForEachPlane(planes, work, plane => Plane<TMultiplyAdd>(weight, offsets, bias, g, (float*)source, (float*)target, plane));
        }
    }

    /// <summary>
    /// Where the 8-lane vectors of one output plane start: row by row, at x = 0, 8, 16, … and, when the width is no
    /// multiple of 8, once more at W′ − 8 (overlapping the one before; it stores the same sums there), each as an
    /// offset in the output plane and in the input (y·W + x, to which a weight's tap offset is added).
    /// </summary>
    private sealed class OutputTiles
    {
        public required int[] Output { get; init; }
        public required int[] Input { get; init; }

        public static OutputTiles For(int width, int outHeight, int outWidth)
        {
            var columns = new List<int>();
            for (var x = 0; x + 8 <= outWidth; x += 8) columns.Add(x);
            if (outWidth % 8 != 0) columns.Add(outWidth - 8);
            var output = new List<int>();
            var input = new List<int>();
            for (var y = 0; y < outHeight; y++)
                foreach (var x in columns)
                {
                    output.Add(y * outWidth + x);
                    input.Add(y * width + x);
                }
            return new OutputTiles { Output = output.ToArray(), Input = input.ToArray() };
        }
    }

    /// <summary>
    /// One (sample, out-channel) plane with its sums in registers: 8 vectors of the plane at a time, each weight
    /// broadcast once and multiplied into all 8 (independent FMAs), and each vector stored once, with its bias and ReLU.
    /// Where each weight updated a row in memory, every FMA waited for the store of the one before it; that chain made
    /// LeNet-5's second convolution take about 40 µs per sample (AMD EPYC, AVX-512 machine).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TiledPlane<TMultiplyAdd>(CsrMatrix weight, int[] offsets, float[] bias, Geometry g, OutputTiles tiles, float* ip, float* op, int plane)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        int sample = plane / weight.Rows, channel = plane % weight.Rows;
        int start = weight.RowStart[channel], end = weight.RowStart[channel + 1];
        var initial = Vector256.Create(bias[channel]);
        var relu = g.Relu;
        fixed (float* vp = weight.Values)
        fixed (int* offp = offsets, outp = tiles.Output, inp = tiles.Input)
        {
            var source = ip + (long)sample * g.SampleSize;
            var target = op + (long)plane * g.OutHeight * g.OutWidth;
            var count = tiles.Output.Length;
            var t = 0;
            for (; t + 8 <= count; t += 8)
            {
                int i0 = inp[t], i1 = inp[t + 1], i2 = inp[t + 2], i3 = inp[t + 3], i4 = inp[t + 4], i5 = inp[t + 5], i6 = inp[t + 6], i7 = inp[t + 7];
                Vector256<float> a0 = initial, a1 = initial, a2 = initial, a3 = initial, a4 = initial, a5 = initial, a6 = initial, a7 = initial;
                for (var k = start; k < end; k++)
                {
                    var w = Vector256.Create(vp[k]);
                    var from = source + offp[k];
                    a0 = TMultiplyAdd.Apply(w, Vector256.Load(from + i0), a0);
                    a1 = TMultiplyAdd.Apply(w, Vector256.Load(from + i1), a1);
                    a2 = TMultiplyAdd.Apply(w, Vector256.Load(from + i2), a2);
                    a3 = TMultiplyAdd.Apply(w, Vector256.Load(from + i3), a3);
                    a4 = TMultiplyAdd.Apply(w, Vector256.Load(from + i4), a4);
                    a5 = TMultiplyAdd.Apply(w, Vector256.Load(from + i5), a5);
                    a6 = TMultiplyAdd.Apply(w, Vector256.Load(from + i6), a6);
                    a7 = TMultiplyAdd.Apply(w, Vector256.Load(from + i7), a7);
                }
                if (relu)
                {
                    a0 = Vector256.Max(a0, Vector256<float>.Zero);
                    a1 = Vector256.Max(a1, Vector256<float>.Zero);
                    a2 = Vector256.Max(a2, Vector256<float>.Zero);
                    a3 = Vector256.Max(a3, Vector256<float>.Zero);
                    a4 = Vector256.Max(a4, Vector256<float>.Zero);
                    a5 = Vector256.Max(a5, Vector256<float>.Zero);
                    a6 = Vector256.Max(a6, Vector256<float>.Zero);
                    a7 = Vector256.Max(a7, Vector256<float>.Zero);
                }
                a0.Store(target + outp[t]);
                a1.Store(target + outp[t + 1]);
                a2.Store(target + outp[t + 2]);
                a3.Store(target + outp[t + 3]);
                a4.Store(target + outp[t + 4]);
                a5.Store(target + outp[t + 5]);
                a6.Store(target + outp[t + 6]);
                a7.Store(target + outp[t + 7]);
            }
            for (; t < count; t++)
            {
                var i0 = inp[t];
                var a = initial;
                for (var k = start; k < end; k++) a = TMultiplyAdd.Apply(Vector256.Create(vp[k]), Vector256.Load(source + offp[k] + i0), a);
                if (relu) a = Vector256.Max(a, Vector256<float>.Zero);
                a.Store(target + outp[t]);
            }
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
    private static unsafe void Plane<TMultiplyAdd>(CsrMatrix weight, int[] offsets, float[] bias, Geometry g, float* ip, float* op, int plane)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        int sampleSize = g.SampleSize, width = g.Width, outHeight = g.OutHeight, outWidth = g.OutWidth;
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
                if (g.Relu)
                    for (var x = 0; x < outWidth; x++) if (row[x] < 0f) row[x] = 0f;
            }
        }
    }
}
