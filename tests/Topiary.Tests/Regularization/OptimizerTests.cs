using TorchSharp.Modules;
using Topiary.Optimization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class OptimizerTests
{
    [Theory]
    [InlineData(30, 50)]
    [InlineData(64, 20)]
    public void Newton_Schulz_maps_every_singular_value_into_its_band(long rows, long cols)
    {
        using var scope = NewDisposeScope();
        var g = randn(rows, cols, generator: new Generator(1));
        var singular = linalg.svdvals(NewtonSchulz.Approximate(g));
        Assert.InRange(singular.min().item<float>(), 0.6f, 1.0f);
        Assert.InRange(singular.max().item<float>(), 1.0f, 1.25f);
    }

    [Fact]
    public void The_exact_polar_factor_has_unit_singular_values_and_attains_the_nuclear_norm()
    {
        using var scope = NewDisposeScope();
        var g = randn(12, 7, dtype: float64, generator: new Generator(2));
        var o = NewtonSchulz.Exact(g);
        Assert.True(linalg.svdvals(o).sub(1).abs().max().item<double>() < 1e-12);
        Assert.Equal(linalg.svdvals(g).sum().item<double>(), g.mul(o).sum().item<double>(), 10);
    }

    [Fact]
    public void A_muon_step_with_the_exact_polar_has_spectral_norm_eta_times_scale_and_a_bias_step_is_normalized_sgd()
    {
        using var scope = NewDisposeScope();
        var weight = new Parameter(randn(16, 8, dtype: float64, generator: new Generator(3)));
        var bias = new Parameter(randn(16, dtype: float64, generator: new Generator(4)));
        var before = (weight.detach().clone(), bias.detach().clone());
        weight.grad = randn(16, 8, dtype: float64, generator: new Generator(5));
        bias.grad = randn(16, dtype: float64, generator: new Generator(6));
        using var muon = new MuonOptimizer(new[] { weight, bias }, learningRate: 0.1, momentum: 0, exactPolar: true);
        muon.Step();
        var weightStep = before.Item1.sub(weight.detach());
        Assert.Equal(0.1 * Math.Sqrt(16.0 / 8), linalg.svdvals(weightStep).max().item<double>(), 10);
        Assert.True(linalg.svdvals(weightStep).min().item<double>() > 0.1 * Math.Sqrt(2) - 1e-10, "every singular value of the update is η·s");
        var biasStep = before.Item2.sub(bias.detach());
        Assert.True(Check.MaxRelativeDifference(biasStep, bias.grad!.div(bias.grad!.norm()).mul(0.1)) < 1e-10);
    }

    [Theory]
    [InlineData(SteepestDescentNorm.Spectral)]
    [InlineData(SteepestDescentNorm.Infinity)]
    [InlineData(SteepestDescentNorm.Euclidean)]
    public void Steepest_descent_attains_duality_for_its_norm(SteepestDescentNorm norm)
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(randn(9, 6, dtype: float64, generator: new Generator(7)));
        var before = w.detach().clone();
        var g = randn(9, 6, dtype: float64, generator: new Generator(8));
        w.grad = g.clone();
        using var optimizer = new SteepestDescentOptimizer(new[] { w }, 0.01, _ => norm);
        optimizer.Step();
        var d = w.detach().sub(before);
        Assert.Equal(-0.01 * DualityMap.DualNorm(g, norm), g.mul(d).sum().item<double>(), 10);
        Assert.Equal(0.01, DualityMap.Norm(d, norm), 10);
    }

    [Fact]
    public void Adam_without_moving_averages_is_sign_descent()
    {
        using var scope = NewDisposeScope();
        var a = new Parameter(randn(5, 4, generator: new Generator(9)));
        var b = new Parameter(a.detach().clone());
        var g = randn(5, 4, generator: new Generator(10));
        a.grad = g.clone();
        b.grad = g.clone();
        using var adam = new AdamOptimizer(new[] { a }, 0.01, beta1: 0, beta2: 0, epsilon: 1e-30);
        using var sign = new SteepestDescentOptimizer(new[] { b }, 0.01, _ => SteepestDescentNorm.Infinity);
        adam.Step();
        sign.Step();
        Assert.True(a.detach().sub(b.detach()).abs().max().item<float>() < 1e-7);
    }
}
