using TorchSharp.Modules;
using Topiary.Experiments;
using Topiary.Optimization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class FiraOptimizerTests
{
    private static Tensor Random(int seed, params long[] shape) => randn(shape, dtype: float64, generator: new Generator((ulong)seed));

    private static Tensor Column(Tensor x) => x.norm(0);

    [Fact]
    public void The_limiter_holds_each_norm_within_gamma_of_the_last_and_keeps_the_direction()
    {
        using var scope = NewDisposeScope();
        var limiter = new NormGrowthLimiter(1.01);
        double? previous = null;
        for (var t = 0; t < 30; t++)
        {
            // Spikes of up to 1000× between steps, and drops.
            var input = Random(t, 5, 7).mul(Math.Pow(10, (t * 7 % 5) - 2));
            var limited = input.clone();
            limiter.Limit(limited);
            var norm = limited.norm().item<double>();
            if (previous is { } p) Assert.True(norm <= 1.01 * p * (1 + 1e-12), $"step {t}: {norm} > 1.01·{p}");
            var factor = limited.flatten().dot(input.flatten()).item<double>() / input.flatten().dot(input.flatten()).item<double>();
            Assert.InRange(factor, 1e-9, 1 + 1e-12);
            Assert.Equal(0, limited.flatten().sub(input.flatten().mul(factor)).abs().max().item<double>(), 12);
            if (previous is null || input.norm().item<double>() <= 1.01 * previous) Assert.Equal(1, factor, 12);
            previous = norm;
        }
    }

    [Fact]
    public void With_full_rank_and_no_limiter_a_matrix_takes_Adam_steps_in_the_basis_of_its_first_gradient_and_a_bias_plain_Adam_steps()
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(Random(1, 4, 6).to(float32));
        var b = new Parameter(Random(2, 4).to(float32));
        var gradients = Enumerable.Range(0, 6).Select(t => (G: Random(10 + t, 4, 6).to(float32), B: Random(20 + t, 4).to(float32))).ToList();
        var basis = linalg.svd(gradients[0].G, fullMatrices: false).Item1;
        var rotated = new Parameter(basis.t().matmul(w.detach()));
        var bias = new Parameter(b.detach().clone());
        using var fira = new FiraOptimizer([w, b], 0.01, rank: 4, updateInterval: 100, growthLimit: null);
        using var adam = new AdamOptimizer([rotated, bias], 0.01);
        foreach (var (g, gb) in gradients)
        {
            (w.grad, b.grad) = (g.clone(), gb.clone());
            (rotated.grad, bias.grad) = (basis.t().matmul(g), gb.clone());
            fira.Step();
            adam.Step();
        }
        Assert.True(basis.matmul(rotated.detach()).sub(w.detach()).abs().max().item<float>() < 1e-5);
        Assert.True(bias.detach().sub(b.detach()).abs().max().item<float>() < 1e-5);
        // Not plain Adam on W: the basis is the gradient's, not the identity.
        Assert.True(w.detach().sub(rotated.detach()).abs().max().item<float>() > 1e-2);
    }

    [Fact]
    public void Two_steps_follow_the_closed_form_with_column_wise_scaling_and_the_limiter()
    {
        using var scope = NewDisposeScope();
        const double eta = 0.1, gamma = 1.01, eps = 1e-8;
        var w0 = Random(3, 4, 9);
        var w = new Parameter(w0.clone());
        using var fira = new FiraOptimizer([w], eta, rank: 2, updateInterval: 100, growthLimit: gamma);
        var (g1, g2) = (Random(30, 4, 9), Random(31, 4, 9).mul(50));
        var p = linalg.svd(g1, fullMatrices: false).Item1.narrow(1, 0, 2);
        var (r1, r2) = (p.t().matmul(g1), p.t().matmul(g2));
        Tensor Residual(Tensor g, Tensor r, Tensor psi) => g.sub(p.matmul(r)).mul(Column(psi).div(Column(r).add(1e-8)));

        w.grad = g1.clone();
        fira.Step();
        var psi1 = r1.div(r1.abs().add(eps));
        var s1 = Residual(g1, r1, psi1);
        var w1 = w0.sub(p.matmul(psi1).add(s1).mul(eta));
        Assert.Equal(0, w.detach().sub(w1).abs().max().item<double>(), 10);

        w.grad = g2.clone();
        fira.Step();
        var m = r1.mul(0.9 * 0.1).add(r2.mul(0.1)).div(1 - 0.81);
        var v = r1.square().mul(0.999 * 0.001).add(r2.square().mul(0.001));
        var psi2 = m.div(v.sqrt().div(Math.Sqrt(1 - 0.999 * 0.999)).add(eps));
        var raw = Residual(g2, r2, psi2);
        var cap = gamma * s1.norm().item<double>();
        Assert.True(raw.norm().item<double>() > cap, "the spike must engage the limiter");
        var s2 = raw.mul(cap / raw.norm().item<double>());
        var w2 = w1.sub(p.matmul(psi2).add(s2).mul(eta));
        Assert.Equal(0, w.detach().sub(w2).abs().max().item<double>(), 10);
    }

    [Fact]
    public void A_tall_matrix_steps_as_the_transpose_of_its_wide_transpose()
    {
        using var scope = NewDisposeScope();
        var tall = new Parameter(Random(4, 9, 4));
        var wide = new Parameter(tall.detach().t().clone());
        using var a = new FiraOptimizer([tall], 0.01, rank: 2, updateInterval: 2);
        using var b = new FiraOptimizer([wide], 0.01, rank: 2, updateInterval: 2);
        for (var t = 0; t < 5; t++)
        {
            var g = Random(40 + t, 9, 4);
            (tall.grad, wide.grad) = (g.clone(), g.t().clone());
            a.Step();
            b.Step();
        }
        Assert.Equal(0, tall.detach().sub(wide.detach().t()).abs().max().item<double>(), 12);
    }

    [Fact]
    public void The_state_of_a_matrix_grows_linearly_with_the_rank_and_stops_at_full_rank()
    {
        using var scope = NewDisposeScope();
        long StateSize(int rank)
        {
            var w = new Parameter(zeros(20, 2, 2, 2, dtype: float64));    // a kernel: 20 × 8, oriented 8 × 20
            using var fira = new FiraOptimizer([w], 0.01, rank: rank);
            w.grad = Random(5, 20, 2, 2, 2);
            fira.Step();
            var state = fira.StateBuffers();
            Assert.Equal([8, Math.Min(rank, 8)], state["0.projection"].shape);
            return state.Values.Where(t => t.dim() > 0).Sum(t => t.numel());
        }
        // P is 8 × r, each moment r × 20.
        foreach (var rank in new[] { 1, 2, 4, 8 })
            Assert.Equal(rank * (8 + 2 * 20), StateSize(rank));
        Assert.Equal(8 * (8 + 2 * 20), StateSize(50));
    }

    [Fact]
    public void Pruning_restarts_a_matrix_state_and_masks_a_bias_state_and_a_restored_state_continues_exactly()
    {
        using var scope = NewDisposeScope();
        var (w, b) = (new Parameter(Random(6, 3, 5)), new Parameter(Random(7, 3)));
        using var fira = new FiraOptimizer([w, b], 0.01, rank: 2, updateInterval: 3);
        for (var t = 0; t < 4; t++)
        {
            (w.grad, b.grad) = (Random(50 + t, 3, 5), Random(60 + t, 3));
            fira.Step();
        }
        var (w2, b2) = (new Parameter(w.detach().clone()), new Parameter(b.detach().clone()));
        using var restored = new FiraOptimizer([w2, b2], 0.01, rank: 2, updateInterval: 3);
        restored.LoadState(fira.StepCount, fira.StateBuffers());
        (w.grad, b.grad, w2.grad, b2.grad) = (Random(70, 3, 5), Random(71, 3), Random(70, 3, 5), Random(71, 3));
        fira.Step();
        restored.Step();
        Assert.Equal(0, w.detach().sub(w2.detach()).abs().max().item<double>());
        Assert.Equal(0, b.detach().sub(b2.detach()).abs().max().item<double>());

        var mask = tensor(new double[] { 1, 0, 1 });
        fira.MaskState(w, ones(3, 5, dtype: float64));
        fira.MaskState(b, mask);
        var state = fira.StateBuffers();
        Assert.DoesNotContain("0.exp_avg", state.Keys);
        Assert.Equal(0, state["1.exp_avg"][1].item<double>());
        Assert.Equal(0, state["1.exp_avg_sq"][1].item<double>());
        Assert.NotEqual(0, state["1.exp_avg_sq"][0].item<double>());
        Assert.Throws<ArgumentException>(() => restored.LoadState(1, new Dictionary<string, Tensor> { ["1.projection"] = ones(3, 2) }));
        Assert.Throws<ArgumentException>(() => restored.LoadState(1, new Dictionary<string, Tensor> { ["0.exp_avg"] = ones(3, 5) }));
    }

    [Theory]
    [InlineData(0, 200, 1.01, "rank")]
    [InlineData(2, 0, 1.01, "updateInterval")]
    [InlineData(2, 200, 0.99, "growthLimit")]
    [InlineData(2, 200, double.NaN, "growthLimit")]
    public void Bad_settings_are_one_line_errors_naming_the_setting(int rank, int interval, double growth, string name)
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(zeros(3, 4));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new FiraOptimizer([w], 0.01, rank, interval, growth));
        Assert.Equal(name, error.ParamName);
        var options = new FiraOptions { Rank = rank, UpdateInterval = interval, GrowthLimit = growth };
        var setting = Assert.Throws<PruningOptionException>(options.Validate);
        Assert.DoesNotContain('\n', setting.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new NormGrowthLimiter(0.5));
        Assert.IsType<FiraOptions>(Topiary.Experiments.OptimizerOptions.Named("fira", 1e-3));
        new FiraOptions { GrowthLimit = null }.Validate();
    }

    [Fact]
    public void The_description_names_rank_interval_and_limit_so_a_resumed_run_must_match_them()
    {
        var paper = new FiraOptions().Describe();
        Assert.Equal(FiraOptimizer.DefaultRank, paper["rank"]!.GetValue<int>());
        Assert.Equal(FiraOptimizer.DefaultUpdateInterval, paper["update_interval"]!.GetValue<int>());
        Assert.Equal(NormGrowthLimiter.PaperGrowth, paper["growth_limit"]!.GetValue<double>());
        Assert.Equal("none", new FiraOptions { GrowthLimit = null }.Describe()["growth_limit"]!.GetValue<string>());
        Assert.NotEqual(paper.ToJsonString(), new FiraOptions { Rank = 8 }.Describe().ToJsonString());
        Assert.False(new AdamOptions().Describe().ContainsKey("rank"));
    }
}
