using Topiary.Tuning;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Topiary.Tests.Tuning;

public class SelfTuningTunerTests(ITestOutputHelper output)
{
    private static double RelativeDifference(Tensor a, Tensor b) =>
        a.sub(b).abs().max().item<double>() / b.abs().max().item<double>();

    [Fact]
    public void The_learned_slope_matches_the_ridge_best_response_derivative_and_the_update_follows_it()
    {
        using var scope = NewDisposeScope();
        using var ridge = SelfTuningRidge.Generated(1);
        const double lambda = 0.5;
        var solution = ridge.Solution(lambda);
        ridge.SetWeight(solution);
        using var tuner = new SelfTuningTuner(perturbationScale: 0.1, bestResponseLearningRate: 0.005, seed: 1);
        ridge.Train(tuner, lambda, steps: 600);

        // Training at fixed ψ = 0 perturbed by ψ̃ ~ N(0, 0.1²). The exact fixed point of the expected objective in (W_e, b),
        // b = v·W_h, is b = −2λc·W_e·(H + 2λc(1+σ²)I)⁻¹ with c = e^{σ²/2} (the ψ̃-expectations of e^ε, εe^ε, ε²e^ε):
        // 0.3% from dW*/dψ here. Adam at step 0.005 keeps b within about 3% of it once converged (≤ 2.8% from step 250
        // to 600 over seeds 1–3), hence 5%. A missing exp(ψ̃ − ψ) on λ gives slope 0, a wrong sign or chain rule far more.
        var slope = tuner.Slope(ridge.Weight)!;
        var analytic = ridge.Slope(lambda, solution);
        var slopeError = RelativeDifference(slope, analytic);
        output.WriteLine($"slope error {slopeError}");
        Assert.True(slopeError < 0.05, $"slope {string.Join(",", slope.data<double>().ToArray())} vs dW*/dψ {string.Join(",", analytic.data<double>().ToArray())}: relative error {slopeError}");
        Assert.True(RelativeDifference(ridge.Weight.detach(), solution) < 0.01, "W_e stays at the ridge solution (Ŵ(ψ) = W_e)");

        // The hypergradient is ⟨∇L_val(W_e), v·W_h⟩ exactly, so it is within Σ|∇L_val|·(slope tolerance)·max|dW*/dψ| of
        // the analytic dF/dψ = ⟨∇L_val(w*), dw*/dψ⟩.
        var before = ridge.Weight.detach().clone();
        var gradient = ridge.ValidationGradient();
        var exact = gradient.mul(slope).sum().item<double>();
        var expected = gradient.mul(analytic).sum().item<double>();
        var update = tuner.Update(ridge.Problem(lambda));
        Assert.Equal(exact, update.Hypergradient, 1e-10);
        var bound = gradient.abs().sum().item<double>() * 0.05 * analytic.abs().max().item<double>();
        Assert.True(Math.Abs(update.Hypergradient - expected) < bound, $"dF/dψ {update.Hypergradient} vs analytic {expected} (bound {bound})");
        Assert.Equal(Math.Exp(Math.Clamp(-update.Hypergradient, -0.5, 0.5)), update.Multiplier, 12);
        Assert.Equal(ridge.ValidationLoss().item<double>(), update.ValidationLoss, 12);
        Assert.True(double.IsNaN(update.Tolerance) && update.HessianProducts == 0 && update.Accepted);
        Assert.True(ridge.Weight.detach().equal(before).all().item<bool>(), "Update restores W_e bit-exactly");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_strength_moves_toward_the_validation_optimum(bool validationFavoursStrong)
    {
        using var scope = NewDisposeScope();
        // Strong: validation targets are noise around 0, so smaller weights (a larger λ) lower the validation loss.
        // Weak: noiseless training and validation from the same w_true at a heavy λ_t, so shrinkage only hurts.
        using var ridge = validationFavoursStrong
            ? SelfTuningRidge.Generated(2, noise: 0.5, validationWeightsZero: true)
            : SelfTuningRidge.Generated(3, noise: 0, validationNoise: 0);
        var scheduled = validationFavoursStrong ? 0.05 : 1.0;
        ridge.SetWeight(ridge.Solution(scheduled));
        using var tuner = new SelfTuningTuner(perturbationScale: 0.25, hyperLearningRate: 1, bestResponseLearningRate: 0.01, seed: 2);
        var first = double.NaN;
        var losses = new List<double>();
        for (var round = 0; round < 5; round++)
        {
            ridge.Train(tuner, scheduled, steps: 80);
            var update = tuner.Update(ridge.Problem(scheduled));
            if (round == 0) first = update.Hypergradient;
            losses.Add(update.ValidationLoss);
        }
        var trace = $"ψ = {tuner.LogMultiplier}, first dF/dψ = {first}, validation losses {string.Join(", ", losses)}";
        output.WriteLine(trace);
        if (validationFavoursStrong)
        {
            Assert.True(first < 0, trace);
            Assert.True(tuner.LogMultiplier > 1, trace);
        }
        else
        {
            Assert.True(first > 0, trace);
            Assert.True(tuner.LogMultiplier < -1, trace);
        }
        Assert.True(losses[^1] < losses[0], trace);
    }
}
