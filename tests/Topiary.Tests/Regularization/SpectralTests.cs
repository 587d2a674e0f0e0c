using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class SpectralTests
{
    [Fact]
    public void Power_iteration_matches_the_largest_singular_value_and_the_gradient_matches_autograd()
    {
        using var scope = NewDisposeScope();
        var w = randn(20, 30, dtype: float64, generator: new Generator(1)).mul(0.2);
        var spectral = new SpectralRegularization(iterations: 200);
        var (sigma, _, _) = spectral.TopSingular(w);
        var exact = linalg.svdvals(w).max().item<double>();
        Assert.True(Math.Abs(sigma - exact) / exact < 1e-4, $"power iteration {sigma}, SVD {exact}");
        var added = Check.Added(spectral, w, 0.3);
        Assert.True(Check.MaxRelativeDifference(added, Check.Autograd(w, x => spectral.Penalty(x, x, 0.3))) < 1e-4);
    }

    [Fact]
    public void The_penalty_is_zero_exactly_when_the_top_singular_value_is_one()
    {
        using var scope = NewDisposeScope();
        var w = randn(6, 9, dtype: float64, generator: new Generator(2));
        var unit = w.div(linalg.svdvals(w).max());
        var spectral = new SpectralRegularization();
        Assert.True(spectral.Penalty(unit, unit, 1).item<double>() < 1e-24);
        Assert.True(spectral.Penalty(unit.mul(1.01), unit, 1).item<double>() > 1e-5);
        Assert.True(spectral.Penalty(unit.mul(0.99), unit, 1).item<double>() > 1e-5);
    }

    [Fact]
    public void Descending_the_penalty_brings_sigma_max_to_one()
    {
        using var scope = NewDisposeScope();
        var w = randn(10, 16, dtype: float64, generator: new Generator(3));
        w.mul_(1.5 / linalg.svdvals(w).max().item<double>());   // σ_max = 1.5: a step size that is stable for this curvature
        var spectral = new SpectralRegularization();
        for (var i = 0; i < 300; i++) w.sub_(Check.Added(spectral, w, 1.0).mul(0.01));
        Assert.True(Math.Abs(linalg.svdvals(w).max().item<double>() - 1) < 1e-2);
    }

    [Fact]
    public void Wasserstein_to_init_ignores_permutations_unlike_L2_to_init_and_its_gradient_matches_autograd()
    {
        using var scope = NewDisposeScope();
        var initial = randn(5, 8, dtype: float64, generator: new Generator(4));
        var reg = new WassersteinInitRegularization();
        reg.Remember(initial);
        var permuted = initial.flatten()[randperm(40, generator: new Generator(5))].reshape(5, 8);
        // The same handle must be used: the regularizer keys its memory by tensor.
        initial.copy_(permuted);
        Assert.Equal(0.0, reg.Penalty(initial, initial, 1).item<double>(), 15);
        Assert.True(Check.Added(reg, initial, 1).eq(0).all().item<bool>());
        initial.add_(randn(5, 8, dtype: float64, generator: new Generator(6)).mul(0.1));
        var penalty = reg.Penalty(initial, initial, 0.5).item<double>();
        Assert.True(penalty > 0);
        var leaf = initial.detach().clone().requires_grad_();
        var reference = leaf.flatten().sort().Values.sub(permuted.flatten().sort().Values).square().sum().mul(0.5);
        reference.backward();
        Assert.True(Check.MaxRelativeDifference(Check.Added(reg, initial, 0.5), leaf.grad!) < 1e-12);
    }
}
