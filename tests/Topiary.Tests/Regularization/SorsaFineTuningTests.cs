using Topiary.Tests.Support;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class SorsaFineTuningTests
{
    private static Tensor Orthonormality(Tensor u, Tensor v) =>
        u.t().matmul(u).sub(eye(u.shape[1], dtype: u.dtype)).square().sum().add(v.t().matmul(v).sub(eye(v.shape[1], dtype: v.dtype)).square().sum());

    [Theory]
    [InlineData(new long[] { 6, 5 }, 2)]
    [InlineData(new long[] { 4, 3, 2, 2 }, 3)]
    [InlineData(new long[] { 3, 7 }, 9)]
    public void At_the_first_step_the_weight_is_reproduced_from_the_top_singular_triplets_and_the_residual(long[] shape, int rank)
    {
        using var scope = NewDisposeScope();
        var weight = randn(shape, generator: new Generator(3));
        var pretrained = weight.clone();
        var sorsa = new SorsaFineTuning(rank);
        sorsa.AddGradient(weight, zeros_like(weight), 0.1);
        // A zero gradient and γ = 0: Adam's step is 0, so the write-back is the merge of the initial factors.
        sorsa.Project(weight, zeros_like(weight), 0.0, 0.1);
        Assert.True(Check.MaxRelativeDifference(weight, pretrained) < 1e-5, "W = W_r + U_p diag(σ_p) V_pᵀ at the start");

        var matrix = pretrained.reshape(shape[0], -1);
        var singular = linalg.svdvals(matrix);
        var r = (int)Math.Min(rank, singular.shape[0]);
        var (u, s, v) = sorsa.Factors(weight)!.Value;
        Assert.Equal(new long[] { shape[0], r }, u.shape);
        Assert.Equal(new long[] { matrix.shape[1], r }, v.shape);
        Assert.True(Check.MaxRelativeDifference(s, singular.narrow(0, 0, r)) < 1e-5, "σ_p are the largest singular values");
        Assert.True(Orthonormality(u, v).item<float>() < 1e-9, "U_p, V_p start orthonormal");
        // The residual holds the rest of the spectrum.
        var rest = linalg.svdvals(sorsa.Residual(weight)!);
        var remaining = singular.shape[0] - r;
        if (remaining > 0)
            Assert.True(Check.MaxRelativeDifference(rest.narrow(0, 0, remaining), singular.narrow(0, r, remaining)) < 1e-4);
        Assert.True(rest.narrow(0, remaining, r).abs().max().item<float>() < 1e-4 * singular[0].item<float>(), "W_r has rank min(m, n) − r");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.7)]
    public void Factor_gradients_are_autograd_of_the_loss_through_the_reparameterized_weight_plus_the_penalty(double gamma)
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(1, outputs: 3);
        var sorsa = new SorsaFineTuning(rank: 2, learningRate: 0.05);
        // A few steps first, so that the factors are no longer orthonormal and the penalty has a gradient.
        network.Steps(sorsa, 4, 0.0);
        var (u0, s0, v0) = sorsa.Factors(network.First)!.Value;
        Assert.True(Orthonormality(u0, v0).item<double>() > 1e-6);

        var u = u0.requires_grad_();
        var s = s0.requires_grad_();
        var v = v0.requires_grad_();
        var reparameterized = sorsa.Residual(network.First)!.add(u.mul(s).matmul(v.t()));
        network.Loss(reparameterized).add(Orthonormality(u, v).mul(gamma)).backward();
        var expected = cat([u.grad!.flatten(), s.grad!, v.grad!.flatten()]);

        var actual = sorsa.Training.FactorGradient(network.First, network.FirstGradient(), gamma);
        Assert.True(Check.MaxRelativeDifference(actual, expected) < 1e-12, $"differs by {Check.MaxRelativeDifference(actual, expected)}");
    }

    [Fact]
    public void The_penalty_and_its_gradient_are_the_orthonormality_penalty_and_its_autograd()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(2, outputs: 3);
        var sorsa = new SorsaFineTuning(rank: 3, learningRate: 0.05);
        network.Steps(sorsa, 4, 0.0);
        var (u, s, v) = sorsa.Factors(network.First)!.Value;
        const double gamma = 0.3;
        Assert.Equal(gamma * Orthonormality(u, v).item<double>(), sorsa.Penalty(network.First, zeros_like(network.First), gamma).item<double>(), 1e-14);

        var penaltyGradient = sorsa.Training.FactorGradient(network.First, zeros_like(network.First), gamma);
        var uLeaf = u.clone().requires_grad_();
        var vLeaf = v.clone().requires_grad_();
        Orthonormality(uLeaf, vLeaf).mul(gamma).backward();
        var expected = cat([uLeaf.grad!.flatten(), zeros_like(s), vLeaf.grad!.flatten()]);
        Assert.True(Check.MaxRelativeDifference(penaltyGradient, expected) < 1e-12);
        // The closed form of the paper's penalty: 4γ·X(XᵀX − I).
        var closedU = u.matmul(u.t().matmul(u).sub(eye(3, dtype: float64))).mul(4 * gamma);
        Assert.True(Check.MaxRelativeDifference(penaltyGradient.narrow(0, 0, u.numel()), closedU.flatten()) < 1e-12);
    }

    [Fact]
    public void With_a_zero_loss_gradient_the_penalty_moves_the_singular_vectors_toward_orthonormality()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(3, outputs: 3);
        var sorsa = new SorsaFineTuning(rank: 3, learningRate: 1e-2);
        network.Steps(sorsa, 1, 0.0);
        // Bend the factors away from orthonormality through the checkpoint state.
        var state = sorsa.SaveState(network.Named).ToDictionary(p => p.Key, p => p.Value);
        var key = "p0.sorsa-factors";
        state[key] = state[key].mul(1.3).add(randn(state[key].shape, dtype: float64, generator: new Generator(5)).mul(0.1));
        sorsa.LoadState(network.Named, state);
        var (u, _, v) = sorsa.Factors(network.First)!.Value;
        var start = Orthonormality(u, v).item<double>();
        var previous = start;
        var zero = zeros_like(network.First);
        for (var step = 0; step < 60; step++)
        {
            sorsa.Project(network.First, zero, 1.0, 0.1);
            // The weight written back is always the merge of the current factors.
            var (uk, sk, vk) = sorsa.Factors(network.First)!.Value;
            Assert.True(TensorAssert.BitEqual(network.First, sorsa.Training.Merged(network.First)!));
            Assert.True(Check.MaxRelativeDifference(network.First, sorsa.Residual(network.First)!.add(uk.mul(sk).matmul(vk.t()))) < 1e-12);
            previous = Orthonormality(uk, vk).item<double>();
        }
        Assert.True(previous < 0.05 * start, $"‖UᵀU − I‖² + ‖VᵀV − I‖² went from {start} to {previous}");
    }
}
