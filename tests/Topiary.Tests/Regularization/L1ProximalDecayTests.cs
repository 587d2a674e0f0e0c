using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class L1ProximalDecayTests
{
    [Fact]
    public void The_proximal_step_soft_thresholds_to_exact_zeros()
    {
        using var w = tensor(new[] { 0.5f, -0.5f, 0.05f, -0.02f, 0f });
        new L1ProximalDecay().Project(w, null, strength: 1.0, stepSize: 0.1);
        Assert.Equal(new[] { 0.4f, -0.4f, 0f, 0f, 0f }, w.data<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-7);
    }

    [Fact]
    public void The_penalty_is_gamma_times_the_l1_norm()
    {
        using var w = tensor(new[] { 1.0, -2.0, 0.5 });
        Assert.Equal(0.1 * 3.5, new L1ProximalDecay().Penalty(w, zeros_like(w), 0.1).item<double>(), 12);
    }
}
