using Topiary.Regularization;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class GramianInvariancePenaltyTests
{
    [Fact]
    public void Under_the_squared_loss_without_ridge_it_is_four_times_the_distance_to_the_environments_optimal_head()
    {
        using var scope = NewDisposeScope();
        var phi = randn(20, 3, dtype: float64, generator: new Generator(1));
        var y = randn(20, 2, dtype: float64, generator: new Generator(2));
        var w = randn(2, 3, dtype: float64, generator: new Generator(3));
        var optimal = linalg.solve(phi.t().matmul(phi), phi.t().matmul(y)).t();
        var residualGradients = phi.matmul(w.t()).sub(y).mul(2);
        var expected = w.sub(optimal).square().sum().mul(4).item<double>();
        Assert.Equal(expected, GramianInvariancePenalty.EnvironmentPenalty(phi, residualGradients, 0).item<double>(), 9);
    }

    // The IRMv1-style penalty on the whole head: ‖∇_W R^e‖² = ‖(1/n)·gᵀφ‖².
    private static double GradientPenalty(Tensor phi, Tensor g) => g.t().matmul(phi).div(phi.shape[0]).square().sum().item<double>();

    [Fact]
    public void On_a_spurious_feature_of_tiny_variance_IRMv1_vanishes_where_the_Gramian_penalty_does_not()
    {
        using var scope = NewDisposeScope();
        const double tiny = 1e-3;
        var environments = new[] { 1.0, -1.0 }.Select((sign, e) =>
        {
            var generator = new Generator(10 + (ulong)e);
            var invariant = randn(400, 1, dtype: float64, generator: generator);
            // Noise with no sample correlation to the invariant feature: both environments' optimal invariant head is exactly 1.
            var noise = randn(400, 1, dtype: float64, generator: generator).mul(0.5);
            noise = noise.sub(invariant.mul(invariant.t().matmul(noise).div(invariant.square().sum())));
            var y = invariant.add(noise);
            var spurious = y.mul(sign).add(randn(400, 1, dtype: float64, generator: generator)).mul(tiny);
            return (Invariant: invariant, Both: cat([invariant, spurious], 1), Y: y);
        }).ToArray();

        // The head that minimizes IRMv1 on (invariant, spurious): argmin Σ_e‖G_e·w − b_e‖².
        var grams = environments.Select(e => e.Both.t().matmul(e.Both).div(400)).ToArray();
        var moments = environments.Select(e => e.Both.t().matmul(e.Y).div(400)).ToArray();
        var normal = grams.Select(g => g.matmul(g)).Aggregate((a, b) => a.add(b));
        var right = grams.Zip(moments, (g, b) => g.matmul(b)).Aggregate((a, b) => a.add(b));
        var head = linalg.solve(normal, right).t();
        var irm = environments.Sum(e => GradientPenalty(e.Both, e.Both.matmul(head.t()).sub(e.Y).mul(2)));
        var gram = environments.Sum(e => GramianInvariancePenalty.EnvironmentPenalty(e.Both, e.Both.matmul(head.t()).sub(e.Y).mul(2), 1e-9).item<double>());
        Assert.True(irm < 1e-5, $"IRMv1 {irm}");
        Assert.True(gram > 1, $"Gramian {gram}");

        var one = ones(1, 1, dtype: float64);
        var invariantGram = environments.Sum(e => GramianInvariancePenalty.EnvironmentPenalty(e.Invariant, e.Invariant.matmul(one).sub(e.Y).mul(2), 1e-9).item<double>());
        Assert.True(invariantGram < 1e-12, $"invariant {invariantGram}");
    }

    private static nn.Module<Tensor, Tensor> Network()
    {
        manual_seed(4);
        var model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3));
        model.to(float64);
        return model;
    }

    private static Tensor PenaltyOf(GramianInvariancePenalty penalty, nn.Module<Tensor, Tensor> model, Tensor x, Tensor y, double strength)
    {
        using var recorder = new ActivationRecorder(model);
        recorder.Start();
        var outputs = model.forward(x);
        recorder.Stop();
        return penalty.LossPenalty(new RegularizationContext(model, x, y, outputs, recorder.Activations), strength)!;
    }

    private static Func<Tensor, Tensor, Tensor> SignOfFirstInput => (inputs, _) => inputs.select(1, 0).gt(0).to(int64);

    [Fact]
    public void Its_gradient_on_every_weight_matches_central_differences()
    {
        using var scope = NewDisposeScope();
        var x = randn(14, 3, dtype: float64, generator: new Generator(5));
        var y = randint(0, 3, new long[] { 14 }, generator: new Generator(6));
        var model = Network();
        var penalty = new GramianInvariancePenalty(0.1, 2, SignOfFirstInput);
        PenaltyOf(penalty, model, x, y, 2).backward();
        const double h = 1e-6;
        foreach (var parameter in model.parameters())
        {
            var flat = parameter.detach().view(-1);
            var analytic = parameter.grad!.view(-1);
            for (var i = 0; i < flat.shape[0]; i++)
            {
                var original = flat[i].item<double>();
                using (no_grad()) flat[i] = original + h;
                var up = PenaltyOf(penalty, model, x, y, 2).item<double>();
                using (no_grad()) flat[i] = original - h;
                var down = PenaltyOf(penalty, model, x, y, 2).item<double>();
                using (no_grad()) flat[i] = original;
                Assert.Equal((up - down) / (2 * h), analytic[i].item<double>(), 5);
            }
        }
    }

    [Fact]
    public void The_classes_are_the_default_environments_and_lambda_scales_the_mean_over_them()
    {
        using var scope = NewDisposeScope();
        var x = randn(12, 3, dtype: float64, generator: new Generator(7));
        var y = tensor(new long[] { 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0 });
        var model = Network();
        var byClass = PenaltyOf(new GramianInvariancePenalty(), model, x, y, 3).item<double>();
        Assert.Equal(byClass, PenaltyOf(new GramianInvariancePenalty(environments: 3, environmentOf: (_, t) => t), model, x, y, 3).item<double>(), 12);
        // Class 2 is absent: the mean runs over the two present classes.
        Assert.Equal(byClass, 3 * PenaltyOf(new GramianInvariancePenalty(environments: 2, environmentOf: (_, t) => t), model, x, y, 1).item<double>(), 12);
    }

    [Fact]
    public void Bad_parameters_are_refused_with_their_names()
    {
        Assert.Equal("ridge", Assert.Throws<ArgumentOutOfRangeException>(() => new GramianInvariancePenalty(-1)).ParamName);
        Assert.Throws<ArgumentException>(() => new GramianInvariancePenalty(environmentOf: (_, t) => t));
        Assert.Equal("environments", Assert.Throws<ArgumentOutOfRangeException>(() => new GramianInvariancePenalty(environments: 0)).ParamName);
        Assert.IsType<GramianInvariancePenalty>(RegularizerSpec.Parse("gram:1e-3:ridge=0.1").Single().Regularizer);
        Assert.Contains("ridge", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("gram:1e-3:ridge=0")).Message);
    }
}
