using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Tests.Backend;

/// <summary>The self-check's float64 reference and its power to catch wrong convolutions, case by case.</summary>
public class ConvolutionCheckTests
{
    public static TheoryData<int> CaseIndices()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < TorchBackend.Cases.Count; i++) data.Add(i);
        return data;
    }

    /// <summary>y[n, o, p] = Σ_{c in o's group, t} w[o, c, t] · x[n, c, p·stride + t·dilation − padding], by loops.</summary>
    private static double[] DirectSum(ConvolutionCase c, double[] x, double[] w)
    {
        var taps = c.Dimensions == 1 ? 1 : c.Kernel;
        var rows = c.Dimensions == 1 ? 1 : c.Size;
        var outRows = c.Dimensions == 1 ? 1 : c.OutputSize;
        long inPerGroup = c.InChannels / c.Groups, outPerGroup = c.OutChannels / c.Groups;
        var y = new double[c.Batch * c.OutChannels * outRows * c.OutputSize];
        for (var n = 0; n < c.Batch; n++)
            for (var o = 0; o < c.OutChannels; o++)
                for (var py = 0; py < outRows; py++)
                    for (var px = 0; px < c.OutputSize; px++)
                    {
                        var sum = 0.0;
                        for (var ci = 0; ci < inPerGroup; ci++)
                        {
                            var channel = o / outPerGroup * inPerGroup + ci;
                            for (var ty = 0; ty < taps; ty++)
                                for (var tx = 0; tx < c.Kernel; tx++)
                                {
                                    var iy = c.Dimensions == 1 ? 0 : py * c.Stride + ty * c.Dilation - c.Padding;
                                    var ix = px * c.Stride + tx * c.Dilation - c.Padding;
                                    if (iy < 0 || iy >= rows || ix < 0 || ix >= c.Size) continue;
                                    sum += w[((o * inPerGroup + ci) * taps + ty) * c.Kernel + tx] * x[((n * c.InChannels + channel) * rows + iy) * c.Size + ix];
                                }
                        }
                        y[((n * c.OutChannels + o) * outRows + py) * c.OutputSize + px] = sum;
                    }
        return y;
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void The_reference_is_the_direct_sum_for_every_case(int index)
    {
        var full = TorchBackend.Cases[index];
        var c = full with { Batch = 2 };
        var generator = new Generator(5);
        using var x = randn(c.InputShape, dtype: float64, generator: generator);
        using var w = randn(c.WeightShape, dtype: float64, generator: generator);
        using var reference = ConvGradientCheck.Reference(c, x, w);
        var expected = DirectSum(c, x.data<double>().ToArray(), w.data<double>().ToArray());
        var actual = reference.contiguous().data<double>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 10);
    }

    [Fact]
    public void The_cases_cover_stride_padding_dilation_groups_and_conv1d()
    {
        Assert.Contains(TorchBackend.Cases, c => c.Dimensions == 1 && c.Stride > 1 && c.Padding > 0);
        Assert.Contains(TorchBackend.Cases, c => c.Dimensions == 2 && c.Stride > 1 && c.Padding > 0);
        Assert.Contains(TorchBackend.Cases, c => c.Dilation > 1);
        Assert.Contains(TorchBackend.Cases, c => c.Groups > 1);
        Assert.Contains(TorchBackend.Cases, c => c.Name == "conv2d 20→50 5×5");
        Assert.All(TorchBackend.Cases, c => c.Validate());
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void After_the_self_check_libtorch_agrees_with_the_reference(int index)
    {
        var status = TorchBackend.EnsureVerified();
        Assert.True(status.Trusted, $"self-check outcome {status.Outcome}, error {status.MaxRelativeError}");
        var result = ConvGradientCheck.Compare(TorchBackend.Cases[index], seed: 991);
        Assert.True(result.MaxError <= TorchBackend.Tolerance, $"{TorchBackend.Cases[index].Name}: {result}");
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void A_wrong_forward_or_a_wrong_backward_is_caught_in_every_case(int index)
    {
        var c = TorchBackend.Cases[index];
        TorchBackend.EnsureVerified();
        // Off by 0.1% in the forward pass (and so in the gradients).
        var forward = ConvGradientCheck.Compare(c, seed: 1, (x, w) => ConvGradientCheck.Convolve(c, x, w).mul(1.001));
        Assert.True(forward.OutputError > TorchBackend.Tolerance, $"{c.Name}: {forward}");
        // Right forward, gradients scaled by 1.001, as a faulty backward kernel would give.
        var backward = ConvGradientCheck.Compare(c, seed: 1, (x, w) =>
        {
            var y = ConvGradientCheck.Convolve(c, x, w);
            return y.mul(1.001).sub(y.detach().mul(0.001));
        });
        Assert.True(backward.OutputError <= 1e-5, $"{c.Name}: the forward should agree, {backward}");
        Assert.True(backward.WeightGradError > TorchBackend.Tolerance && backward.InputGradError > TorchBackend.Tolerance, $"{c.Name}: {backward}");
        var nan = ConvGradientCheck.Compare(c, seed: 1, (x, w) => ConvGradientCheck.Convolve(c, x, w).mul(full(1, float.NaN)));
        Assert.Equal(double.PositiveInfinity, nan.MaxError);
    }

    [Fact]
    public void A_case_that_does_not_describe_a_convolution_is_refused_naming_it()
    {
        var error = Assert.Throws<ArgumentException>(() => new ConvolutionCase("odd groups", 2, 1, 6, 4, 8, 3, Groups: 4).Validate());
        Assert.Contains("odd groups", error.Message);
        Assert.Throws<ArgumentException>(() => new ConvolutionCase("too big", 1, 1, 1, 1, 4, 9).Validate());
        Assert.Throws<ArgumentException>(() => new ConvolutionCase("3-D", 3, 1, 1, 1, 4, 3).Validate());
    }
}
