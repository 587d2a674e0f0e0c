using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class AcceleratedProximalTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_scad_prox_is_the_closed_form_thresholding_in_each_region(bool accelerated)
    {
        using var scope = NewDisposeScope();
        const double lambda = 1.0, eta = 0.5, a = 3.7;
        // Regions: |z| ≤ (1+η)λ = 1.5 soft threshold; 1.5 < |z| ≤ aλ = 3.7 linear; beyond unchanged.
        var z = tensor(new[] { 0.3, -1.2, 1.5, 2.0, -3.0, 3.7, 5.0, -8.0 }, dtype: float64);
        var expected = new[] { 0.0, -0.7, 1.0, (2.7 * 2.0 - 3.7 * 0.5) / 2.2, (2.7 * -3.0 + 3.7 * 0.5) / 2.2, (2.7 * 3.7 - 3.7 * 0.5) / 2.2, 5.0, -8.0 };
        // The first accelerated step has t_1 = 1 and so does not extrapolate: it is the prox itself.
        new ScadPenalty(a, accelerated).Project(z, null, lambda, eta);
        Assert.Equal(expected, z.data<double>().ToArray(), (x, y) => Math.Abs(x - y) < 1e-12);
    }

    [Fact]
    public void The_mcp_prox_is_firm_thresholding_and_later_steps_extrapolate_with_fistas_coefficient()
    {
        using var scope = NewDisposeScope();
        var mcp = new McpPenalty(3.0, accelerated: true);
        var w = tensor(new[] { 0.2, -1.0, 2.0, 4.0 }, dtype: float64);
        mcp.Project(w, null, 1.0, 0.5);   // ηλ = 0.5, bλ = 3: 0, −0.5/(1 − 1/6), 1.5/(5/6), unchanged
        var x1 = new[] { 0.0, -0.6, 1.8, 4.0 };
        Assert.Equal(x1, w.data<double>().ToArray(), (x, y) => Math.Abs(x - y) < 1e-12);

        w.sub_(0.1);   // a gradient step moves y; the prox and the extrapolation follow
        mcp.Project(w, null, 1.0, 0.5);
        var x2 = new[] { 0.0, -0.24, 1.44, 3.9 };
        var t2 = (double)(float)((1 + Math.Sqrt(5)) / 2);
        var t3 = (double)(float)((1 + Math.Sqrt(1 + 4 * t2 * t2)) / 2);
        var y3 = x2.Select((x, i) => x + (t2 - 1) / t3 * (x - x1[i])).ToArray();
        Assert.Equal(y3, w.data<double>().ToArray(), (x, y) => Math.Abs(x - y) < 1e-12);
    }

    [Theory]
    [InlineData("scad")]
    [InlineData("mcp")]
    public void On_ill_conditioned_least_squares_fista_reaches_a_lower_objective_in_the_same_number_of_steps(string name)
    {
        using var scope = NewDisposeScope();
        // f(x) = ½‖Ax − b‖² with singular values from 1 to 0.05 and a sparse x*; step η = 1/L.
        var (u, _) = linalg.qr(randn(40, 20, dtype: float64, generator: new Generator(1)));
        var (v, _) = linalg.qr(randn(20, 20, dtype: float64, generator: new Generator(2)));
        var a = u.matmul(diag(linspace(1, 0.05, 20, dtype: float64))).matmul(v.t());
        var truth = zeros(20, dtype: float64);
        truth[tensor(new long[] { 1, 5, 9, 14 })] = tensor(new[] { 2.0, -1.5, 1.0, 3.0 }, dtype: float64);
        var b = a.mv(truth);
        const double lambda = 0.01, eta = 1.0;

        double Objective(GradientRegularizer penalty, Tensor x) =>
            a.mv(x).sub(b).square().sum().item<double>() / 2 + penalty.Penalty(x, x, lambda).item<double>();

        double Run(bool accelerated)
        {
            var penalty = name == "scad" ? (ProximalPenalty)new ScadPenalty(3.7, accelerated) : new McpPenalty(3.0, accelerated);
            var y = zeros(20, dtype: float64);
            for (var k = 0; k < 60; k++)
            {
                y.sub_(a.t().mv(a.mv(y).sub(b)).mul(eta));
                penalty.Project(y, null, lambda, eta);
            }
            // The objective is judged at the prox point x_k, not at the extrapolated y: one more prox of the last gradient step.
            var plain = name == "scad" ? (ProximalPenalty)new ScadPenalty(3.7) : new McpPenalty(3.0);
            var x = y.sub(a.t().mv(a.mv(y).sub(b)).mul(eta));
            plain.Project(x, null, lambda, eta);
            return Objective(plain, x);
        }

        var plainObjective = Run(accelerated: false);
        var fastObjective = Run(accelerated: true);
        Assert.True(fastObjective < 0.5 * plainObjective, $"FISTA {fastObjective} vs plain prox {plainObjective}");
    }
}
