using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Topiary.Inference;

/// <summary>
/// Y = act(X·Wᵀ + b) for a CSR weight W [out, in] and a row-major batch X [batch, in], in managed code with
/// AVX2/FMA where the CPU has them.
/// Batch 1 runs <see cref="LaneBlockKernel"/> where the CPU has AVX-512 and its layout suits the matrix
/// (<see cref="CsrMatrix.LaneBlocks"/>), else a CSR sparse matrix–vector product (SpMV) that gathers x at each row's column indices.
/// Larger batches work on feature-major activations Xᵀ [in, batch] and compute Yᵀ = W·Xᵀ as a CSR sparse × dense product
/// (SpMM): each stored w[r,c] adds w·Xᵀ[c, :] to Yᵀ[r, :], which is contiguous over the batch and so runs
/// 8 lanes at a time with the batch tile held in registers. Rows are split across threads when the work is large
/// enough to pay for it.
/// </summary>
public static class SparseLinearKernel
{
    /// <summary>Multiply-adds (non-zeros × batch) below which the kernel stays on one thread.</summary>
    public const long ParallelThreshold = 1 << 17;

    /// <summary>
    /// Computes the layer on row-major [batch, in] → [batch, out]; <paramref name="scratch"/> must hold
    /// (in + out) × batch floats when batch &gt; 1 (for the two transpositions).
    /// </summary>
    public static void Forward(CsrMatrix weight, ReadOnlySpan<float> bias, ReadOnlySpan<float> input, Span<float> output,
        int batch, bool relu, float[] scratch)
    {
        int inputs = weight.Columns, outputs = weight.Rows;
        if (input.Length < (long)batch * inputs || output.Length < (long)batch * outputs || bias.Length != outputs)
            throw new ArgumentException("input, output or bias has the wrong length");
        if (batch == 1)
        {
            MultiplyVector(weight, bias, input, output, relu);
            return;
        }
        if (scratch.Length < (long)(inputs + outputs) * batch) throw new ArgumentException("scratch is too small", nameof(scratch));
        Transpose(input, scratch.AsSpan(0, inputs * batch), batch, inputs);
        var transposedOutput = scratch.AsSpan(inputs * batch, outputs * batch);
        ForwardFeatureMajor(weight, bias.ToArray(), scratch.AsSpan(0, inputs * batch), transposedOutput, batch, relu);
        Transpose(transposedOutput, output, outputs, batch);
    }

    /// <summary>
    /// Computes the layer on feature-major activations: <paramref name="input"/> is [in, batch] and
    /// <paramref name="output"/> [out, batch] (for batch 1 the same as row-major). They may be managed buffers or a
    /// tensor's own memory, and must not overlap.
    /// </summary>
    public static unsafe void ForwardFeatureMajor(CsrMatrix weight, float[] bias, ReadOnlySpan<float> input, Span<float> output, int batch, bool relu)
    {
        if (input.Length < (long)batch * weight.Columns || output.Length < (long)batch * weight.Rows || bias.Length != weight.Rows)
            throw new ArgumentException("input, output or bias has the wrong length");
        if (batch == 1)
        {
            MultiplyVector(weight, bias, input, output, relu);
            return;
        }
        fixed (float* xp = input, yp = output) MultiplyTransposed(weight, bias, xp, yp, batch, relu);
    }

    // Fully optimized from the first call: tier-0 code would make the first calls (and calibration) look slow.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MultiplyVector(CsrMatrix weight, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, Span<float> y, bool relu)
    {
        if (KernelIsa.Avx512 && weight.LaneBlocks is { } blocks)
        {
            LaneBlockKernel.Multiply(blocks, bias, x, y, relu);
            return;
        }
        var gathers = KernelIsa.Avx2Fma;
        if (gathers && weight.Columns > 0) weight = weight.PaddedToEight;
        fixed (float* xp = x, vp = weight.Values, yp = y, bp = bias)
        fixed (int* cp = weight.ColumnIndex, rp = weight.RowStart)
        {
            for (var r = 0; r < weight.Rows; r++)
            {
                int k = rp[r], end = rp[r + 1];
                var sum = 0f;
                if (gathers)
                {
                    var acc = Vector256<float>.Zero;
                    for (; k + 8 <= end; k += 8)
                    {
                        var gathered = Avx2.GatherVector256(xp, Avx.LoadVector256(cp + k), 4);
                        acc = Fma.MultiplyAdd(Avx.LoadVector256(vp + k), gathered, acc);
                    }
                    sum = Vector256.Sum(acc);
                }
                for (; k < end; k++) sum += vp[k] * xp[cp[k]];
                sum += bp[r];
                yp[r] = relu && sum < 0f ? 0f : sum;
            }
        }
    }

    private static unsafe void MultiplyTransposed(CsrMatrix weight, float[] bias, float* transposedInput, float* transposedOutput, int batch, bool relu)
    {
        var work = (long)weight.Nonzero * batch;
        var chunks = work < ParallelThreshold || KernelThreads.Count == 1 ? 1 : Math.Min(weight.Rows, KernelThreads.Count * 4);
        if (KernelIsa.Avx2Fma) SplitRows<FusedMultiplyAdd>(weight, bias, transposedInput, transposedOutput, batch, relu, chunks);
        else SplitRows<SeparateMultiplyAdd>(weight, bias, transposedInput, transposedOutput, batch, relu, chunks);
    }

    private static unsafe void SplitRows<TMultiplyAdd>(CsrMatrix weight, float[] bias, float* transposedInput, float* transposedOutput, int batch, bool relu, int chunks)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        if (chunks <= 1)
        {
            MultiplyRows<TMultiplyAdd>(weight, bias, transposedInput, transposedOutput, batch, relu, 0, weight.Rows);
            return;
        }
        // The caller keeps both pinned until the helpers are done; a lambda cannot capture the pointers themselves.
        nint input = (nint)transposedInput, output = (nint)transposedOutput;
        KernelWorkers.For(chunks, chunk =>
        {
            var first = (int)((long)weight.Rows * chunk / chunks);
            var last = (int)((long)weight.Rows * (chunk + 1) / chunks);
            MultiplyRows<TMultiplyAdd>(weight, bias, (float*)input, (float*)output, batch, relu, first, last);
        });
    }

    // Fully optimized from the first call: tier-0 code would make the first calls (and calibration) look slow.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MultiplyRows<TMultiplyAdd>(CsrMatrix weight, float[] bias, float* xp, float* yp, int batch, bool relu, int firstRow, int lastRow)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        fixed (float* vp = weight.Values)
        fixed (int* cp = weight.ColumnIndex, rp = weight.RowStart)
        {
            for (var r = firstRow; r < lastRow; r++)
            {
                int start = rp[r], end = rp[r + 1];
                var row = yp + (long)r * batch;
                var b0 = 0;
                // Full tiles of 32 batch entries: four 8-lane accumulators stay in registers over the whole row.
                for (; b0 + 32 <= batch; b0 += 32)
                {
                    var initial = Vector256.Create(bias[r]);
                    Vector256<float> a0 = initial, a1 = initial, a2 = initial, a3 = initial;
                    for (var k = start; k < end; k++)
                    {
                        var w = Vector256.Create(vp[k]);
                        var source = xp + (long)cp[k] * batch + b0;
                        a0 = TMultiplyAdd.Apply(w, Vector256.Load(source), a0);
                        a1 = TMultiplyAdd.Apply(w, Vector256.Load(source + 8), a1);
                        a2 = TMultiplyAdd.Apply(w, Vector256.Load(source + 16), a2);
                        a3 = TMultiplyAdd.Apply(w, Vector256.Load(source + 24), a3);
                    }
                    if (relu)
                    {
                        a0 = Vector256.Max(a0, Vector256<float>.Zero);
                        a1 = Vector256.Max(a1, Vector256<float>.Zero);
                        a2 = Vector256.Max(a2, Vector256<float>.Zero);
                        a3 = Vector256.Max(a3, Vector256<float>.Zero);
                    }
                    a0.Store(row + b0);
                    a1.Store(row + b0 + 8);
                    a2.Store(row + b0 + 16);
                    a3.Store(row + b0 + 24);
                }
                // Then tiles of 8 in one register, then single batch entries, each kept in a register over the row.
                for (; b0 + 8 <= batch; b0 += 8)
                {
                    var a = Vector256.Create(bias[r]);
                    for (var k = start; k < end; k++)
                        a = TMultiplyAdd.Apply(Vector256.Create(vp[k]), Vector256.Load(xp + (long)cp[k] * batch + b0), a);
                    if (relu) a = Vector256.Max(a, Vector256<float>.Zero);
                    a.Store(row + b0);
                }
                for (; b0 < batch; b0++)
                {
                    var sum = bias[r];
                    for (var k = start; k < end; k++) sum += vp[k] * xp[(long)cp[k] * batch + b0];
                    row[b0] = relu && sum < 0f ? 0f : sum;
                }
            }
        }
    }

    /// <summary>Row-major [rows, columns] → [columns, rows], in 16×16 tiles to stay in cache.</summary>
    // Fully optimized from the first call: tier-0 code would make the first calls (and calibration) look slow.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Transpose(ReadOnlySpan<float> source, Span<float> target, int rows, int columns)
    {
        const int Tile = 16;
        if (source.Length < (long)rows * columns || target.Length < (long)rows * columns) throw new ArgumentException("source or target is too small");
        fixed (float* sp = source, tp = target)
        {
            for (var r0 = 0; r0 < rows; r0 += Tile)
            {
                var r1 = Math.Min(rows, r0 + Tile);
                for (var c0 = 0; c0 < columns; c0 += Tile)
                {
                    var c1 = Math.Min(columns, c0 + Tile);
                    for (var r = r0; r < r1; r++)
                    {
                        var from = sp + (long)r * columns;
                        for (var c = c0; c < c1; c++) tp[(long)c * rows + r] = from[c];
                    }
                }
            }
        }
    }
}
