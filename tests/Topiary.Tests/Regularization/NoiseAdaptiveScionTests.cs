using TorchSharp.Modules;
using Topiary.Optimization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class NoiseAdaptiveScionTests
{
    private static Tensor Gradient(int seed, double scale = 1) => randn(3, 4, dtype: float64, generator: new Generator((ulong)seed)).mul(scale);

    [Fact]
    public void The_noise_estimate_is_the_moving_average_of_the_squared_dual_norm_of_the_change_between_consecutive_gradients()
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(zeros(3, 4, dtype: float64));
        using var optimizer = new NoiseAdaptiveScionOptimizer([w], 0.01, averaging: 0.5, noiseDecay: 0.9, norms: [ScionNorm.Sign]);
        var (g1, g2, g3) = (Gradient(1), Gradient(2), Gradient(3));
        w.grad = g1.clone();
        optimizer.Step();
        Assert.Null(optimizer.Noise(0));
        w.grad = g2.clone();
        optimizer.Step();
        // The paper's practical option: the previous stochastic gradient, not the averaged one, is the second sample.
        var s2 = g2.sub(g1).abs().sum().item<double>() / 4;
        Assert.Equal(0.1 * s2 * s2, optimizer.Noise(0)!.Value, 12);
        w.grad = g3.clone();
        optimizer.Step();
        var s3 = g3.sub(g2).abs().sum().item<double>() / 4;
        Assert.Equal(0.9 * 0.1 * s2 * s2 + 0.1 * s3 * s3, optimizer.Noise(0)!.Value, 12);
        Assert.Equal(s3, ScionOracle.DualNorm(g3.sub(g2), ScionNorm.Sign), 12);
        var averaged = g3.sub(g1.mul(0.25).add(g2.mul(0.5))).abs().sum().item<double>() / 4;
        Assert.NotEqual(0.9 * 0.1 * s2 * s2 + 0.1 * averaged * averaged, optimizer.Noise(0)!.Value, 6);
    }

    [Fact]
    public void A_masked_entry_of_the_previous_gradient_is_zeroed_with_the_averaged_one()
    {
        using var scope = NewDisposeScope();
        var w = new Parameter(zeros(3, 4, dtype: float64));
        using var optimizer = new NoiseAdaptiveScionOptimizer([w], 0.01, noiseDecay: 0, norms: [ScionNorm.Sign]);
        w.grad = ones(3, 4, dtype: float64);
        optimizer.Step();
        var mask = ones(3, 4, dtype: float64);
        mask[0, 0] = tensor(0.0, float64);
        optimizer.MaskState(w, mask);
        w.grad = ones(3, 4, dtype: float64);
        optimizer.Step();
        // Only the masked entry changed, by 1: the sign norm's dual is Σ|·|/fan_in.
        Assert.Equal(1.0 / 16, optimizer.Noise(0)!.Value, 12);
    }

    [Fact]
    public void The_noisier_tensor_of_a_group_steps_with_eta_times_the_root_of_the_noise_ratio_and_the_quiet_one_with_eta()
    {
        using var scope = NewDisposeScope();
        var quiet = new Parameter(zeros(3, 4, dtype: float64));
        var noisy = new Parameter(zeros(3, 4, dtype: float64));
        using var optimizer = new NoiseAdaptiveScionOptimizer([quiet, noisy], 0.01, averaging: 0.5, norms: [ScionNorm.Sign, ScionNorm.Sign]);
        for (var t = 0; t < 3; t++)
        {
            quiet.grad = Gradient(10 + t);
            noisy.grad = Gradient(20 + t, scale: 5);
            optimizer.Step();
        }
        var (hq, hn) = (optimizer.Noise(0)!.Value, optimizer.Noise(1)!.Value);
        Assert.True(hn > hq);
        Assert.Equal(1, optimizer.RateScale(0));
        Assert.Equal(Math.Sqrt(hq / hn), optimizer.RateScale(1), 14);
        // The next step: each entry of a sign step moves by η_i·ρ/fan_in.
        var before = (quiet.detach().clone(), noisy.detach().clone());
        quiet.grad = Gradient(30);
        noisy.grad = Gradient(31, scale: 5);
        optimizer.Step();
        Assert.Equal(0.01 / 4, quiet.detach().sub(before.Item1).abs().max().item<double>(), 14);
        Assert.Equal(0.01 * optimizer.RateScale(1) / 4, noisy.detach().sub(before.Item2).abs().max().item<double>(), 3);
    }

    [Fact]
    public void Tensors_under_different_norms_are_scaled_within_their_own_group()
    {
        using var scope = NewDisposeScope();
        var a = new Parameter(zeros(3, 4, dtype: float64));
        var b = new Parameter(zeros(3, 4, dtype: float64));
        using var optimizer = new NoiseAdaptiveScionOptimizer([a, b], 0.01, norms: [ScionNorm.Sign, ScionNorm.ColumnNorm]);
        for (var t = 0; t < 3; t++)
        {
            a.grad = Gradient(40 + t);
            b.grad = Gradient(50 + t, scale: 9);
            optimizer.Step();
        }
        Assert.Equal(1, optimizer.RateScale(0));
        Assert.Equal(1, optimizer.RateScale(1));
    }

    [Fact]
    public void A_restored_state_continues_exactly_as_the_saved_optimizer()
    {
        using var scope = NewDisposeScope();
        var (a1, a2) = (new Parameter(zeros(3, 4, dtype: float64)), new Parameter(zeros(3, 4, dtype: float64)));
        var (b1, b2) = (new Parameter(zeros(3, 4, dtype: float64)), new Parameter(zeros(3, 4, dtype: float64)));
        using var first = new NoiseAdaptiveScionOptimizer([a1, a2], 0.01, norms: [ScionNorm.Spectral, ScionNorm.Spectral], exactPolar: true);
        using var second = new NoiseAdaptiveScionOptimizer([b1, b2], 0.01, norms: [ScionNorm.Spectral, ScionNorm.Spectral], exactPolar: true);
        for (var t = 0; t < 3; t++)
        {
            a1.grad = Gradient(60 + t);
            a2.grad = Gradient(70 + t, scale: 3);
            first.Step();
        }
        using (no_grad())
        {
            b1.copy_(a1);
            b2.copy_(a2);
        }
        second.LoadState(first.StepCount, first.StateBuffers());
        Assert.Equal(first.Noise(1), second.Noise(1));
        (a1.grad, a2.grad) = (Gradient(80), Gradient(81, scale: 3));
        (b1.grad, b2.grad) = (Gradient(80), Gradient(81, scale: 3));
        first.Step();
        second.Step();
        Assert.Equal(0, a2.detach().sub(b2.detach()).abs().max().item<double>());
        Assert.Equal(first.Noise(1), second.Noise(1));
        Assert.Throws<ArgumentException>(() => second.LoadState(1, new Dictionary<string, Tensor> { ["7.noise"] = tensor(1.0) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NoiseAdaptiveScionOptimizer([a1], 0.01, noiseDecay: 1));
    }
}
