using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace Topiary.Inference;

/// <summary>How a pooling step combines the in-image values of one window.</summary>
internal interface IWindowReduction
{
    /// <summary>The value before the first entry.</summary>
    static abstract float Seed { get; }

    static abstract float Add(float accumulated, float value);

    /// <summary>The result, given the window's full area kh·kw (padding included).</summary>
    static abstract float Finish(float accumulated, int area);
}

/// <summary>The largest value; padded entries never win; NaN propagates, as in libtorch's max_pool2d.</summary>
internal readonly struct MaxReduction : IWindowReduction
{
    public static float Seed => float.NegativeInfinity;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    // MathF.Max propagates NaN and has no branch to mispredict: on activations in random order the comparison
    // it replaced cost about 20 ns per output of LeNet-5's pooling.
    public static float Add(float accumulated, float value) => MathF.Max(accumulated, value);

    public static float Finish(float accumulated, int area) => accumulated;
}

/// <summary>The sum divided by kh·kw: padded entries count as zeros (<c>count_include_pad=True</c>).</summary>
internal readonly struct MeanReduction : IWindowReduction
{
    public static float Seed => 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float accumulated, float value) => accumulated + value;

    public static float Finish(float accumulated, int area) => accumulated / area;
}

/// <summary>
/// Max or average pooling over the windows of a <see cref="Window2d"/> on row-major [batch, C, H, W]; each window is
/// clipped to the image, the padding being what <typeparamref name="TReduction"/> makes of it.
/// </summary>
internal sealed class PoolStage<TReduction>(ActivationShape input, ActivationShape output, NetworkLayer layer, Window2d window) : InferenceStage(input, output)
    where TReduction : struct, IWindowReduction
{
    public override Tensor RunTorch(Tensor input) => TorchLayers.Parameterless(input, layer);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override unsafe void Run(ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        int h = Input.Height, w = Input.Width, oh = Output.Height, ow = Output.Width, area = window.KernelHeight * window.KernelWidth;
        var planes = batch * Input.Channels;
        if (input.Length < (long)planes * h * w || output.Length < (long)planes * oh * ow) throw new ArgumentException("input or output is too small");
        if (typeof(TReduction) == typeof(MaxReduction) && window == Window2d.Square(2, 2) && KernelIsa.Avx2Fma)
        {
            MaxPool2x2.Forward(input, output, planes, h, w, oh, ow);
            return;
        }
        fixed (float* ip = input, op = output)
        {
            for (var p = 0; p < planes; p++)
            {
                var source = ip + (long)p * h * w;
                var target = op + (long)p * oh * ow;
                for (var y = 0; y < oh; y++)
                {
                    var top = y * window.StrideHeight - window.PaddingHeight;
                    int rowStart = Math.Max(top, 0), rowEnd = Math.Min(top + window.KernelHeight, h);
                    for (var x = 0; x < ow; x++)
                    {
                        var left = x * window.StrideWidth - window.PaddingWidth;
                        int columnStart = Math.Max(left, 0), columnEnd = Math.Min(left + window.KernelWidth, w);
                        var accumulated = TReduction.Seed;
                        for (var r = rowStart; r < rowEnd; r++)
                            for (var c = columnStart; c < columnEnd; c++)
                                accumulated = TReduction.Add(accumulated, source[r * w + c]);
                        target[y * ow + x] = TReduction.Finish(accumulated, area);
                    }
                }
            }
        }
    }
}

/// <summary>
/// Max pooling over 2×2 windows with stride 2 and no padding (LeNet's), 8 outputs at a time: the larger of two input
/// rows, then of neighbouring columns by two shuffles. The general loop of <see cref="PoolStage{TReduction}"/> took
/// about 16 ns per output on LeNet-5's first pooling, more than the sparse convolution before it.
/// </summary>
internal static class MaxPool2x2
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Forward(ReadOnlySpan<float> input, Span<float> output, int planes, int h, int w, int oh, int ow)
    {
        fixed (float* ip = input, op = output)
        {
            for (var p = 0; p < planes; p++)
            {
                var source = ip + (long)p * h * w;
                var target = op + (long)p * oh * ow;
                for (var y = 0; y < oh; y++)
                {
                    float* top = source + 2 * y * w, bottom = top + w, row = target + y * ow;
                    var x = 0;
                    for (; x + 8 <= ow; x += 8)
                    {
                        // Vector256.Max propagates NaN, as max_pool2d does.
                        var a = Vector256.Max(Vector256.Load(top + 2 * x), Vector256.Load(bottom + 2 * x));
                        var b = Vector256.Max(Vector256.Load(top + 2 * x + 8), Vector256.Load(bottom + 2 * x + 8));
                        // Even and odd columns: a0 a2 b0 b2 a4 a6 b4 b6 and a1 a3 b1 b3 a5 a7 b5 b7, then lanes back in order.
                        var pairs = Vector256.Max(Avx.Shuffle(a, b, 0b10_00_10_00), Avx.Shuffle(a, b, 0b11_01_11_01));
                        Avx2.Permute4x64(pairs.AsDouble(), 0b11_01_10_00).AsSingle().Store(row + x);
                    }
                    for (; x + 4 <= ow; x += 4)
                    {
                        var a = Vector128.Max(Vector128.Load(top + 2 * x), Vector128.Load(bottom + 2 * x));
                        var b = Vector128.Max(Vector128.Load(top + 2 * x + 4), Vector128.Load(bottom + 2 * x + 4));
                        // a0 a2 b0 b2 against a1 a3 b1 b3: already in order in 128 bits.
                        Vector128.Max(Sse.Shuffle(a, b, 0b10_00_10_00), Sse.Shuffle(a, b, 0b11_01_11_01)).Store(row + x);
                    }
                    for (; x < ow; x++)
                        row[x] = MathF.Max(MathF.Max(top[2 * x], top[2 * x + 1]), MathF.Max(bottom[2 * x], bottom[2 * x + 1]));
                }
            }
        }
    }
}
