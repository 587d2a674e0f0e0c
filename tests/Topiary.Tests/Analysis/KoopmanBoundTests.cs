using Topiary.Analysis;
using static TorchSharp.torch;

namespace Topiary.Tests.Analysis;

public class KoopmanBoundTests
{
    private static Tensor Orthogonal(long n, int seed) => linalg.qr(randn(n, n, dtype: float64, generator: new Generator((ulong)seed))).Q;

    [Theory]
    [InlineData(3)]
    [InlineData(30)]
    [InlineData(120)]
    public void The_factor_of_an_orthogonal_weight_is_one_whatever_the_width(long n)
    {
        using var scope = NewDisposeScope();
        var layer = KoopmanBound.Layer("w", Orthogonal(n, (int)n));
        Assert.Equal(0, layer.Log10Factor, 8);
        Assert.Equal(1, layer.ConditionNumber, 8);
        // With the default s = r/2 it is scale-invariant; with another s, ‖cQ‖^s/det(c²I)^{1/4} = c^{s − n/2}.
        Assert.Equal(0, KoopmanBound.Layer("w", Orthogonal(n, 1).mul(7)).Log10Factor, 8);
        Assert.Equal((2.0 - n / 2.0) * Math.Log10(7), KoopmanBound.Layer("w", Orthogonal(n, 1).mul(7), exponent: 2).Log10Factor, 8);
    }

    [Fact]
    public void It_matches_the_closed_form_on_diagonal_matrices_and_grows_with_the_condition_number()
    {
        using var scope = NewDisposeScope();
        var d = new[] { 4.0, 2.0, 0.5 };
        // ‖D‖^s / det(DᵀD)^{1/4} = 4^s / (4·2·0.5)^{1/2}.
        var s = 2.5;
        Assert.Equal(s * Math.Log10(4) - 0.5 * Math.Log10(4 * 2 * 0.5), KoopmanBound.Layer("d", diag(tensor(d)), s).Log10Factor, 10);
        Assert.Equal(8, KoopmanBound.Layer("d", diag(tensor(d))).ConditionNumber, 10);
        var previous = 0.0;
        foreach (var kappa in new[] { 2.0, 10.0, 100.0 })
        {
            var factor = KoopmanBound.Layer("d", diag(tensor(new[] { kappa, 1.0, 1.0 }))).Log10Factor;
            Assert.True(factor > previous, $"κ {kappa}: {factor} ≤ {previous}");
            previous = factor;
        }
        // A wide matrix uses its r = min(out, in) singular values: [D 0] has the factor of D.
        var wide = cat([diag(tensor(d)), zeros(3, 2, dtype: float64)], 1);
        Assert.Equal(KoopmanBound.Layer("d", diag(tensor(d))).Log10Factor, KoopmanBound.Layer("wide", wide).Log10Factor, 10);
        // Rank-deficient: the bound is infinite.
        Assert.True(double.IsPositiveInfinity(KoopmanBound.Layer("z", diag(tensor(new[] { 1.0, 0.0 }))).Log10Factor));
    }

    [Fact]
    public void Layers_measures_every_linear_layer_and_the_product_sums_the_logs()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3));
        var layers = KoopmanBound.Layers(model);
        Assert.Equal(["0", "2"], layers.Select(l => l.Name));
        Assert.Equal([5L, 3L], layers.Select(l => l.Rank));
        Assert.Equal(layers[0].Log10Factor + layers[1].Log10Factor, KoopmanBound.Log10Product(layers), 12);
    }
}
