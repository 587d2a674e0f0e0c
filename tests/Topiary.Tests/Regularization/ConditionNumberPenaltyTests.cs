using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class ConditionNumberPenaltyTests
{
    [Theory]
    [InlineData(5, 7)]
    [InlineData(8, 3)]
    public void The_closed_form_gradient_equals_autograd_of_gamma_log_sigma_max_over_sigma_min(int rows, int columns)
    {
        using var scope = NewDisposeScope();
        var w = randn(rows, columns, dtype: ScalarType.Float64, generator: new Generator(5));
        var penalty = new ConditionNumberPenalty();
        var g = zeros_like(w);
        penalty.AddGradient(w, g, 0.3);
        var leaf = w.clone().requires_grad_();
        var s = linalg.svdvals(leaf);
        var expected = autograd.grad([s.max().div(s.min()).log().mul(0.3)], [leaf])[0];
        Assert.True(g.allclose(expected, rtol: 1e-8, atol: 1e-10));
        Assert.Equal(0.3 * Math.Log(s.max().item<double>() / s.min().item<double>()), penalty.Penalty(w, g, 0.3).item<double>(), 10);
    }

    [Fact]
    public void A_kernel_is_penalized_as_its_filter_matrix_and_a_step_against_the_gradient_lowers_its_condition_number()
    {
        using var scope = NewDisposeScope();
        var w = randn(4, 2, 3, 3, dtype: ScalarType.Float64, generator: new Generator(6));
        var penalty = new ConditionNumberPenalty();
        var before = penalty.Penalty(w, zeros_like(w), 1).item<double>();
        var g = zeros_like(w);
        penalty.AddGradient(w, g, 1);
        Assert.Equal(w.shape, g.shape);
        w.sub_(g.mul(1e-2));
        Assert.True(penalty.Penalty(w, zeros_like(w), 1).item<double>() < before);
    }

    [Fact]
    public void It_is_scale_invariant_and_leaves_a_rank_deficient_matrix_alone()
    {
        using var scope = NewDisposeScope();
        var w = randn(5, 6, dtype: ScalarType.Float64, generator: new Generator(7));
        var penalty = new ConditionNumberPenalty();
        Assert.Equal(penalty.Penalty(w, w, 1).item<double>(), penalty.Penalty(w.mul(7), w, 1).item<double>(), 10);
        w[2] = zeros(6, dtype: ScalarType.Float64);
        var g = zeros_like(w);
        penalty.AddGradient(w, g, 1);
        Assert.Equal(0, g.abs().sum().item<double>());
        Assert.Equal(0, penalty.Penalty(w, g, 1).item<double>());
    }
}
