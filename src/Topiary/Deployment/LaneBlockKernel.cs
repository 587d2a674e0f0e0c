using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Topiary.Deployment;

/// <summary>
/// y = act(W·x + b) for one sample on a <see cref="LaneBlockMatrix"/> with AVX-512: for each slice of 16 rows, each
/// block loads its 32-column window of x into two registers, and each step permutes them by the step's 16 positions
/// (vpermt2ps) and adds the 16 products into the slice's sums (vfmadd). On the 300×784 layer of LeNet-300-100 at 5%
/// density this took 1.6–2.5 µs where the CSR gather kernel took 3.2–4.7 µs (same machine, same run).
/// Results agree with dense for finite inputs. An infinite or NaN input can also turn NaN other rows of its slice
/// (a padding slot computes 0 × ∞), where dense libtorch turns every row NaN.
/// </summary>
internal static class LaneBlockKernel
{
    /// <summary>Whether the CPU and runtime have the AVX-512 instructions the kernel uses.</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    // The input copied with zeros up to whole windows, 64-byte aligned; per thread, as the kernel is static.
    [ThreadStatic] private static AlignedArray<float>? paddedInput;

    /// <summary>Computes y[0..Rows) from x[0..Columns); <paramref name="y"/> may be a tensor's memory, and is written only there.</summary>
    // Fully optimized from the first call: tier-0 code would make the first calls (and calibration) look slow.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Multiply(LaneBlockMatrix matrix, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, Span<float> y, bool relu)
    {
        if (!IsSupported) throw new PlatformNotSupportedException("the lane-block kernel needs AVX-512");
        if (x.Length < matrix.Columns || y.Length < matrix.Rows || bias.Length != matrix.Rows)
            throw new ArgumentException("input, output or bias has the wrong length");
        var padded = matrix.Windows * LaneBlockMatrix.Window;
        var input = paddedInput is { } buffer && buffer.Length >= padded ? buffer : paddedInput = new AlignedArray<float>(padded);
        x[..matrix.Columns].CopyTo(input.Span);
        input.Span[matrix.Columns..padded].Clear();

        var xp = input.Pointer;
        var wp = matrix.Weights.Pointer;
        var pp = matrix.Positions.Pointer;
        var partial = stackalloc float[LaneBlockMatrix.Lanes];
        fixed (float* bp = bias, yp = y)
        fixed (int* sliceStart = matrix.SliceStart, blockColumn = matrix.BlockColumn, blockSteps = matrix.BlockSteps)
        {
            for (var s = 0; s < matrix.Slices; s++)
            {
                var first = s * LaneBlockMatrix.Lanes;
                var lanes = Math.Min(LaneBlockMatrix.Lanes, matrix.Rows - first);
                Vector512<float> a0;
                if (lanes == LaneBlockMatrix.Lanes) a0 = Vector512.Load(bp + first);
                else
                {
                    new Span<float>(partial, LaneBlockMatrix.Lanes).Clear();
                    bias.Slice(first, lanes).CopyTo(new Span<float>(partial, lanes));
                    a0 = Vector512.Load(partial);
                }
                // Four sums: a step's add waits only on the step four before it, not on the one just before.
                Vector512<float> a1 = Vector512<float>.Zero, a2 = Vector512<float>.Zero, a3 = Vector512<float>.Zero;
                for (var b = sliceStart[s]; b < sliceStart[s + 1]; b++)
                {
                    var window = xp + blockColumn[b];
                    Vector512<float> low = Vector512.LoadAligned(window), high = Vector512.LoadAligned(window + 16);
                    var steps = blockSteps[b];
                    var k = 0;
                    for (; k + 2 <= steps; k += 2)
                    {
                        a0 = Step(wp, pp, low, high, a0);
                        a1 = Step(wp + 16, pp + 16, low, high, a1);
                        wp += 32;
                        pp += 32;
                    }
                    if (k < steps)
                    {
                        a2 = Step(wp, pp, low, high, a2);
                        wp += 16;
                        pp += 16;
                    }
                    (a0, a1, a2, a3) = (a1, a2, a3, a0);
                }
                var sum = (a0 + a1) + (a2 + a3);
                // max(0, sum) keeps a NaN sum NaN, as relu does (vmaxps returns its second operand on NaN).
                if (relu) sum = Avx512F.Max(Vector512<float>.Zero, sum);
                if (lanes == LaneBlockMatrix.Lanes) sum.Store(yp + first);
                else
                {
                    sum.Store(partial);
                    new ReadOnlySpan<float>(partial, lanes).CopyTo(y.Slice(first, lanes));
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> Step(float* weights, byte* positions, Vector512<float> low, Vector512<float> high, Vector512<float> sum)
    {
        var inputs = Avx512F.PermuteVar16x32x2(low, Avx512F.ConvertToVector512Int32(Vector128.LoadAligned(positions)), high);
        return Avx512F.FusedMultiplyAdd(Vector512.LoadAligned(weights), inputs, sum);
    }
}
