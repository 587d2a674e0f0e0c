using System.Runtime.CompilerServices;
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
    public static float Add(float accumulated, float value) => value > accumulated || float.IsNaN(value) ? value : accumulated;

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
