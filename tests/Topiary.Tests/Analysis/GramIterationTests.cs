using Topiary.Analysis;
using static TorchSharp.torch;

namespace Topiary.Tests.Analysis;

public class GramIterationTests
{
    [Theory]
    [InlineData(40, 25, 1)]
    [InlineData(10, 64, 2)]
    [InlineData(30, 30, 3)]
    public void The_dense_bound_is_above_the_spectral_norm_at_every_iteration_and_within_0_1_percent_after_eight(long rows, long cols, int seed)
    {
        using var scope = NewDisposeScope();
        var w = randn(rows, cols, dtype: float64, generator: new Generator((ulong)seed));
        var exact = linalg.svdvals(w).max().item<double>();
        for (var t = 0; t <= 10; t++)
            Assert.True(GramIteration.SpectralNormBound(w, t) >= exact * (1 - 1e-12), $"iteration {t}: bound below σ₁");
        Assert.True(GramIteration.SpectralNormBound(w, 8) <= exact * 1.001, $"bound {GramIteration.SpectralNormBound(w, 8)} vs σ₁ {exact}");
        Assert.True(GramIteration.SpectralNormBound(w, 3) < GramIteration.SpectralNormBound(w, 1), "the bound tightens");
    }

    [Fact]
    public void The_conv_bound_is_above_the_exact_norm_of_the_circular_convolution_and_within_1_percent()
    {
        using var scope = NewDisposeScope();
        const int n = 6;
        var kernel = randn(3, 2, 3, 3, dtype: float64, generator: new Generator(4));
        // The circular convolution as an explicit matrix, column by column from the input basis.
        var basis = eye(2 * n * n, dtype: float64).reshape(2 * n * n, 2, n, n);
        var padded = nn.functional.pad(basis, new long[] { 1, 1, 1, 1 }, TorchSharp.PaddingModes.Circular);
        var operatorMatrix = nn.functional.conv2d(padded, kernel).reshape(2 * n * n, -1).t();
        var exact = linalg.svdvals(operatorMatrix).max().item<double>();
        for (var t = 0; t <= 8; t++)
            Assert.True(GramIteration.ConvolutionBound(kernel, n, t) >= exact * (1 - 1e-12), $"iteration {t}: bound below σ₁");
        Assert.True(GramIteration.ConvolutionBound(kernel, n, 9) <= exact * 1.01, $"bound {GramIteration.ConvolutionBound(kernel, n, 9)} vs σ₁ {exact}");
        // A valid (unpadded) convolution is a restriction of the circular one: its norm is below the bound too.
        var valid = nn.functional.conv2d(basis, kernel).reshape(2 * n * n, -1).t();
        Assert.True(linalg.svdvals(valid).max().item<double>() <= GramIteration.ConvolutionBound(kernel, n, 9));
    }
}
