using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Topiary.Inference;

/// <summary>
/// Turns a convolution with any <see cref="Window2d"/> (stride, zero padding) into one with stride 1 and no padding
/// that <see cref="SparseConvKernel"/>'s register tiles run: the input is zero-padded and split, per channel, into
/// sh·sw phase images of ⌈(H + 2ph) / sh⌉ × ⌈(W + 2pw) / sw⌉, phase (py, px) holding the padded pixels (i·sh + py,
/// j·sw + px). Output (y, x) of tap (c, dy, dx) reads padded pixel (y·sh + dy, x·sw + dx), which is pixel
/// (y + dy / sh, x + dx / sw) of phase (dy mod sh, dx mod sw): contiguous along x, so 8 outputs are one vector load.
/// With stride 1 it is only the zero-padded copy. The copy costs about one pass over the input, against a pass over
/// the output per weight for a kernel that tests the image's bounds per tap (<c>StridedSparseConvKernel</c>, which it replaced).
/// </summary>
internal sealed class PhaseLayout
{
    private readonly Window2d window;
    private readonly int channels, height, width;

    public PhaseLayout(Window2d window, int channels, int height, int width)
    {
        this.window = window;
        (this.channels, this.height, this.width) = (channels, height, width);
        PhaseHeight = (height + 2 * window.PaddingHeight + window.StrideHeight - 1) / window.StrideHeight;
        PhaseWidth = (width + 2 * window.PaddingWidth + window.StrideWidth - 1) / window.StrideWidth;
        SampleSize = checked(channels * window.StrideHeight * window.StrideWidth * PhaseHeight * PhaseWidth);
    }

    /// <summary>Rows of one phase image.</summary>
    public int PhaseHeight { get; }

    /// <summary>Columns of one phase image: the row stride the kernel reads with.</summary>
    public int PhaseWidth { get; }

    /// <summary>Values per sample in this layout.</summary>
    public int SampleSize { get; }

    /// <summary>For each stored weight (column c·kh·kw + dy·kw + dx), where its tap starts in one rearranged sample.</summary>
    public int[] Offsets(CsrMatrix weight)
    {
        int sh = window.StrideHeight, sw = window.StrideWidth, plane = PhaseHeight * PhaseWidth;
        var offsets = new int[weight.Nonzero];
        for (var k = 0; k < offsets.Length; k++)
        {
            var (channel, dy, dx) = SparseConvKernel.Tap(weight.ColumnIndex[k], window.KernelHeight, window.KernelWidth);
            offsets[k] = ((channel * sh + dy % sh) * sw + dx % sw) * plane + dy / sh * PhaseWidth + dx / sw;
        }
        return offsets;
    }

    /// <summary>Writes <paramref name="batch"/> samples of row-major [C, H, W] input into this layout.</summary>
    // Pointers and plain loops: with a span slice, Clear and CopyTo per row of a few values, the copy took as long as
    // the convolution after it (about 14 µs for a 32×14×14 input).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Rearrange(ReadOnlySpan<float> input, Span<float> target, int batch)
    {
        int sh = window.StrideHeight, sw = window.StrideWidth, ph = window.PaddingHeight, pw = window.PaddingWidth;
        int plane = PhaseHeight * PhaseWidth, inputPlane = height * width, phaseWidth = PhaseWidth;
        if (input.Length < (long)batch * channels * inputPlane || target.Length < (long)batch * SampleSize)
            throw new ArgumentException("input or target is too small");
        var deinterleave = Avx2.IsSupported && KernelIsa.Avx2Fma;
        fixed (float* ip = input, tp = target)
        {
            for (var image = 0; image < batch * channels; image++)
            {
                var source = ip + (long)image * inputPlane;
                var phases = tp + (long)image * sw * sh * plane;
                for (var py = 0; py < sh; py++)
                    for (var px = 0; px < sw; px++)
                    {
                        var phase = phases + (py * sw + px) * plane;
                        // Phase column j reads input column j·sw + px − pw: inside the image for j in [first, end).
                        var first = Math.Min(phaseWidth, Math.Max(0, (pw - px + sw - 1) / sw));
                        var end = Math.Max(first, Math.Min(phaseWidth, (width - 1 + pw - px) / sw + 1));
                        for (var i = 0; i < PhaseHeight; i++)
                        {
                            var row = phase + i * phaseWidth;
                            var r = i * sh + py - ph;
                            if ((uint)r >= (uint)height)
                            {
                                for (var j = 0; j < phaseWidth; j++) row[j] = 0f;
                                continue;
                            }
                            var from = source + r * width + px - pw;
                            for (var j = 0; j < first; j++) row[j] = 0f;
                            var k = first;
                            if (sw == 1)
                            {
                                for (; k + 8 <= end; k += 8) Vector256.Load(from + k).Store(row + k);
                                for (; k < end; k++) row[k] = from[k];
                            }
                            else
                            {
                                if (sw == 2 && deinterleave)
                                    // 8 outputs from 16 inputs: the even lanes of two vectors, then the 128-bit halves back in order.
                                    // Column 2(k + 8) is still inside the row, so the second load stays in the image.
                                    for (; k + 9 <= end; k += 8)
                                    {
                                        var a = Vector256.Load(from + 2 * k);
                                        var b = Vector256.Load(from + 2 * k + 8);
                                        Avx2.Permute4x64(Avx.Shuffle(a, b, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle().Store(row + k);
                                    }
                                for (; k < end; k++) row[k] = from[k * sw];
                            }
                            for (var j = end; j < phaseWidth; j++) row[j] = 0f;
                        }
                    }
            }
        }
    }
}
