using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class ProximalPenaltyTests
{
    private static double[] Prox(GradientRegularizer penalty, double[] z, double lambda, double eta)
    {
        var w = tensor(z, dtype: float64);
        penalty.Project(w, null, lambda, eta);
        return w.data<double>().ToArray();
    }

    [Theory]
    [InlineData("scad")]
    [InlineData("mcp")]
    public void The_prox_matches_a_brute_force_minimization_of_its_objective(string name)
    {
        using var scope = NewDisposeScope();
        var penalty = RegularizerCatalog.Create(name);
        var z = new[] { -5.0, -3.1, -2.2, -1.6, -1.1, -0.7, -0.3, 0.0, 0.2, 0.45, 0.9, 1.3, 1.9, 2.6, 3.5, 4.2 };
        const double lambda = 1.0, eta = 0.6;
        var grid = linspace(-6, 6, 12_001, dtype: float64);   // brute-force reference: argmin of ½(x − z)² + η·p(x)
        var values = PenaltyValues(penalty, grid, lambda);
        var expected = z.Select(zi => grid[grid.sub(zi).square().mul(0.5).add(values.mul(eta)).argmin()].item<double>()).ToArray();
        var actual = Prox(penalty, z, lambda, eta);
        for (var i = 0; i < z.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) < 1.5e-3, $"{name} prox({z[i]}) = {actual[i]}, brute force {expected[i]}");
    }

    // p evaluated entry by entry (Penalty sums over the tensor, so each entry is its own 1-element tensor).
    private static Tensor PenaltyValues(GradientRegularizer penalty, Tensor grid, double lambda)
    {
        var column = grid.unsqueeze(1);
        var values = new double[grid.shape[0]];
        for (long i = 0; i < grid.shape[0]; i++) values[i] = penalty.Penalty(column[i], column[i], lambda).item<double>();
        return tensor(values, dtype: float64);
    }

    [Theory]
    [InlineData("scad")]
    [InlineData("mcp")]
    public void Large_weights_are_left_unbiased_and_small_ones_become_exact_zeros(string name)
    {
        var penalty = RegularizerCatalog.Create(name);
        var result = Prox(penalty, new[] { 10.0, -7.5, 0.01, -0.05 }, 1.0, 0.1);
        Assert.Equal(10.0, result[0]);
        Assert.Equal(-7.5, result[1]);
        Assert.Equal(0.0, result[2]);
        Assert.Equal(0.0, result[3]);
    }

    [Fact]
    public void Group_lasso_zeros_whole_rows_below_the_threshold_and_shrinks_the_others_by_it()
    {
        using var scope = NewDisposeScope();
        var w = tensor(new[,] { { 0.1, 0.1, 0.1, 0.1 }, { 3.0, 0, 4.0, 0 } }, dtype: float64);
        new GroupLasso().Project(w, null, strength: 1.0, stepSize: 0.25);   // threshold η·γ·√4 = 0.5
        Assert.True(w[0].eq(0).all().item<bool>());
        Assert.Equal(4.5, w[1].norm().item<double>(), 12);
        Assert.Equal(0.75, w[1, 0].item<double>() / w[1, 2].item<double>(), 12);   // direction kept
    }

    [Fact]
    public void Elastic_net_combines_the_L2_gradient_with_an_L1_prox_that_gives_exact_zeros()
    {
        using var scope = NewDisposeScope();
        var w = tensor(new[] { 0.5, -0.01, 2.0 }, dtype: float64);
        var elastic = new ElasticNet(0.5);
        Assert.True(Check.MaxRelativeDifference(Check.Added(elastic, w, 0.2), Check.Autograd(w, x => x.square().sum().mul(0.2 * 0.5))) < 1e-12);
        elastic.Project(w, null, 0.2, 0.5);  // threshold 0.05
        Assert.Equal(new[] { 0.45, 0.0, 1.95 }, w.data<double>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-12);
    }
}
