using TorchSharp.Modules;
using Topiary.Optimization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class ScionOptimizerTests
{
    [Fact]
    public void The_spectral_oracle_is_minus_rho_times_the_width_scale_times_the_polar_factor()
    {
        using var scope = NewDisposeScope();
        var d = randn(12, 5, dtype: float64, generator: new Generator(1));
        var (u, _, vh) = linalg.svd(d, fullMatrices: false);
        var expected = u.matmul(vh).mul(-0.7 * Math.Sqrt(12.0 / 5));
        Assert.True(Check.MaxRelativeDifference(ScionOracle.Lmo(d, ScionNorm.Spectral, 0.7, exactPolar: true), expected) < 1e-10);
        Assert.Equal(0.7, ScionOracle.Norm(expected, ScionNorm.Spectral), 10);
    }

    [Fact]
    public void The_sign_and_column_oracles_match_their_closed_forms_and_attain_the_radius()
    {
        using var scope = NewDisposeScope();
        var d = randn(4, 6, dtype: float64, generator: new Generator(2));
        var sign = ScionOracle.Lmo(d, ScionNorm.Sign, 3, exactPolar: true);
        Assert.True(sign.sub(d.sign().mul(-3.0 / 6)).abs().max().item<double>() == 0);
        Assert.Equal(3, ScionOracle.Norm(sign, ScionNorm.Sign), 12);
        var column = ScionOracle.Lmo(d, ScionNorm.ColumnNorm, 2);
        var expected = d.div(d.norm(0, keepdim: true)).mul(-2 * Math.Sqrt(4));
        Assert.True(Check.MaxRelativeDifference(column, expected) < 1e-12);
        Assert.Equal(2, ScionOracle.Norm(column, ScionNorm.ColumnNorm), 12);
        // Minimal over the ball: no random point of norm ρ does better than the oracle.
        for (var k = 0; k < 20; k++)
        {
            var s = randn(4, 6, dtype: float64, generator: new Generator((ulong)(10 + k)));
            var scaled = s.mul(2 / ScionOracle.Norm(s, ScionNorm.ColumnNorm));
            Assert.True(d.mul(scaled).sum().item<double>() >= d.mul(column).sum().item<double>() - 1e-12);
        }
    }

    [Fact]
    public void The_default_norms_are_column_for_the_input_and_biases_sign_for_the_output_and_spectral_between()
    {
        using var scope = NewDisposeScope();
        var ps = new[] { new Parameter(zeros(8, 4)), new Parameter(zeros(8)), new Parameter(zeros(8, 8)), new Parameter(zeros(8)), new Parameter(zeros(3, 8)) };
        Assert.Equal([ScionNorm.ColumnNorm, ScionNorm.ColumnNorm, ScionNorm.Spectral, ScionNorm.ColumnNorm, ScionNorm.Sign], ScionOptimizer.DefaultNorms(ps));
    }

    [Fact]
    public void The_averaged_gradient_follows_d_minus_alpha_times_d_minus_g_and_uscg_steps_along_its_oracle()
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(randn(6, 6, dtype: float64, generator: new Generator(3)));
        using var scion = new ScionOptimizer([w], learningRate: 0.05, averaging: 0.25, norms: [ScionNorm.Sign]);
        var g1 = randn(6, 6, dtype: float64, generator: new Generator(4));
        var g2 = randn(6, 6, dtype: float64, generator: new Generator(5));
        w.grad = g1.clone();
        scion.Step();
        var before = w.detach().clone();
        w.grad = g2.clone();
        scion.Step();
        var d = g1.mul(0.25).mul(0.75).add(g2.mul(0.25));
        Assert.True(Check.MaxRelativeDifference(scion.AveragedGradient(0)!, d) < 1e-12);
        Assert.True(Check.MaxRelativeDifference(w.detach().sub(before), d.sign().mul(-0.05 / 6)) < 1e-12);
    }

    [Theory]
    [InlineData(ScionNorm.Spectral)]
    [InlineData(ScionNorm.ColumnNorm)]
    [InlineData(ScionNorm.Sign)]
    public void The_constrained_iterate_stays_inside_the_norm_ball(ScionNorm norm)
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(randn(7, 5, dtype: float64, generator: new Generator(6)));
        using (no_grad()) w.mul_(0.9 * 1.5 / ScionOracle.Norm(w, norm));
        using var scion = new ScionOptimizer([w], learningRate: 0.3, constrained: true, radii: new ScionRadii { Spectral = 1.5, ColumnNorm = 1.5, Sign = 1.5 },
            norms: [norm], exactPolar: true);
        for (var t = 0; t < 15; t++)
        {
            w.grad = randn(7, 5, dtype: float64, generator: new Generator((ulong)(20 + t)));
            scion.Step();
            Assert.True(ScionOracle.Norm(w, norm) <= 1.5 + 1e-9, $"step {t}: ‖w‖ = {ScionOracle.Norm(w, norm)}");
        }
        // Constant gradients drive the iterate onto the boundary, towards the oracle's point.
        var g = randn(7, 5, dtype: float64, generator: new Generator(99));
        for (var t = 0; t < 200; t++)
        {
            w.grad = g.clone();
            scion.Step();
        }
        Assert.Equal(1.5, ScionOracle.Norm(w, norm), 3);
    }

    [Fact]
    public void Masked_entries_carry_no_averaged_gradient_and_a_sign_step_leaves_them_at_zero()
    {
        using var scope = NewDisposeScope();
        var mask = rand(5, 4, generator: new Generator(7)).gt(0.5).to(float64);
        var w = new Parameter(randn(5, 4, dtype: float64, generator: new Generator(8)).mul(mask));
        using var scion = new ScionOptimizer([w], learningRate: 0.1, averaging: 0.5, norms: [ScionNorm.Sign]);
        w.grad = randn(5, 4, dtype: float64, generator: new Generator(9));
        scion.Step();
        using (no_grad()) w.mul_(mask);
        scion.MaskState(w, mask);
        Assert.Equal(0, scion.AveragedGradient(0)!.mul(mask.neg().add(1)).abs().max().item<double>());
        w.grad = randn(5, 4, dtype: float64, generator: new Generator(10)).mul(mask);
        scion.Step();
        Assert.Equal(0, w.detach().mul(mask.neg().add(1)).abs().max().item<double>());
    }

    [Fact]
    public void A_restored_state_continues_exactly_as_the_saved_optimizer()
    {
        using var scope = NewDisposeScope();
        Parameter Fresh() => new(randn(6, 3, dtype: float64, generator: new Generator(11)));
        var a = Fresh();
        var b = Fresh();
        using var first = new ScionOptimizer([a], 0.05, averaging: 0.2, exactPolar: true, norms: [ScionNorm.Spectral]);
        using var second = new ScionOptimizer([b], 0.05, averaging: 0.2, exactPolar: true, norms: [ScionNorm.Spectral]);
        for (var t = 0; t < 3; t++)
        {
            a.grad = randn(6, 3, dtype: float64, generator: new Generator((ulong)(30 + t)));
            first.Step();
        }
        using (no_grad()) b.copy_(a);
        second.LoadState(first.StepCount, first.StateBuffers());
        var g = randn(6, 3, dtype: float64, generator: new Generator(40));
        a.grad = g.clone();
        b.grad = g.clone();
        first.Step();
        second.Step();
        Assert.Equal(0, a.detach().sub(b.detach()).abs().max().item<double>());
        Assert.Equal(4, second.StepCount);
        Assert.Throws<ArgumentException>(() => second.LoadState(1, new Dictionary<string, Tensor> { ["0.momentum_buffer"] = zeros(2, 2) }));
    }

    [Fact]
    public void Bad_settings_are_rejected()
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(zeros(3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScionOptimizer([w], 0.1, averaging: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScionOptimizer([w], 2, constrained: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScionOptimizer([w], 0.1, radii: new ScionRadii { Sign = -1 }));
        Assert.Throws<ArgumentException>(() => new ScionOptimizer([w], 0.1, norms: []));
        var error = Assert.Throws<Topiary.Experiments.PruningOptionException>(() => Topiary.Experiments.OptimizerOptions.Named("scion-constrained", 2).Validate());
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal("scion-constrained", Topiary.Experiments.OptimizerOptions.Named("scion-constrained", 0.1).Name);
    }
}
