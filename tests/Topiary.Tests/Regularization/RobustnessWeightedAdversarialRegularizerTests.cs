using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class RobustnessWeightedAdversarialRegularizerTests
{
    private static nn.Module<Tensor, Tensor> Network()
    {
        manual_seed(3);
        var model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3));
        model.to(float64);
        return model;
    }

    [Fact]
    public void The_weights_lie_in_the_unit_interval_and_are_one_minus_the_true_class_probability_at_the_attack()
    {
        using var scope = NewDisposeScope();
        var logits = randn(20, 5, dtype: float64, generator: new Generator(1)).mul(4);
        var targets = randint(0, 5, new long[] { 20 }, generator: new Generator(2));
        var weights = RobustnessWeightedAdversarialRegularizer.Weights(logits, targets);
        Assert.True(weights.ge(0).all().item<bool>() && weights.le(1).all().item<bool>());
        var probabilities = logits.exp().div(logits.exp().sum(1, keepdim: true));
        for (var i = 0; i < 20; i++)
            Assert.Equal(1 - probabilities[i, targets[i].item<long>()].item<double>(), weights[i].item<double>(), 12);
    }

    [Fact]
    public void With_every_weight_one_the_robust_term_is_the_TRADES_divergence()
    {
        using var scope = NewDisposeScope();
        var clean = randn(9, 4, dtype: float64, generator: new Generator(3));
        var adversarial = randn(9, 4, dtype: float64, generator: new Generator(4));
        // TorchSharp's kl_div takes the target as log-probabilities when told so (PyTorch's default is the opposite).
        var trades = nn.functional.kl_div(nn.functional.log_softmax(adversarial, 1), nn.functional.log_softmax(clean, 1), reduction: nn.Reduction.Sum, log_target: true).div(9);
        var term = RobustnessWeightedAdversarialRegularizer.WeightedDivergence(clean, adversarial, ones(9, dtype: float64));
        Assert.Equal(trades.item<double>(), term.item<double>(), 12);
        Assert.Equal(0, RobustnessWeightedAdversarialRegularizer.Divergences(clean, clean).abs().max().item<double>(), 14);
    }

    [Fact]
    public void The_smoothing_penalty_is_the_smoothed_cross_entropy_minus_the_plain_one()
    {
        using var scope = NewDisposeScope();
        var logits = randn(12, 5, dtype: float64, generator: new Generator(5));
        var targets = randint(0, 5, new long[] { 12 }, generator: new Generator(6));
        var smoothed = nn.functional.one_hot(targets, 5).to(float64).mul(0.7).add(0.3 / 5);
        var expected = nn.functional.log_softmax(logits, 1).mul(smoothed).sum(1).neg().mean().sub(nn.functional.cross_entropy(logits, targets));
        Assert.Equal(expected.item<double>(), RobustnessWeightedAdversarialRegularizer.SmoothingPenalty(logits, targets, 0.3).item<double>(), 12);
    }

    [Fact]
    public void The_attack_stays_in_the_eps_ball_raises_the_divergence_and_the_seed_fixes_it()
    {
        using var scope = NewDisposeScope();
        var model = Network();
        var inputs = randn(30, 4, dtype: float64, generator: new Generator(7));
        var clean = model.call(inputs);
        var attack = new RobustnessWeightedAdversarialRegularizer(radius: 0.2, steps: 5, seed: 4);
        var adversarial = attack.Attack(model, inputs, clean);
        Assert.InRange(adversarial.sub(inputs).abs().max().item<double>(), 0.19, 0.2 + 1e-12);
        Assert.False(adversarial.requires_grad);
        using (no_grad())
        {
            var reached = RobustnessWeightedAdversarialRegularizer.Divergences(clean, model.call(adversarial)).sum().item<double>();
            var random = RobustnessWeightedAdversarialRegularizer.Divergences(clean, model.call(inputs.add(rand_like(inputs).mul(0.4).sub(0.2)))).sum().item<double>();
            Assert.True(reached > random, $"attack {reached} vs random {random}");
        }
        Assert.True(new RobustnessWeightedAdversarialRegularizer(radius: 0.2, steps: 5, seed: 4).Attack(model, inputs, clean).equal(adversarial).all().item<bool>());
        Assert.Null(inputs.grad);
    }

    [Fact]
    public void In_a_step_its_gradient_is_autograd_of_loss_plus_the_penalty_and_reaches_the_weights_only()
    {
        using var scope = NewDisposeScope();
        var targets = randint(0, 3, new long[] { 8 }, generator: new Generator(2));
        Check.StepMatchesPenalty(new RobustnessWeightedAdversarialRegularizer(radius: 0.3, smoothing: 0.1, seed: 11), 5.0, targets, (model, inputs, _) =>
        {
            var clean = model.call(inputs);
            // The same x̂, from a twin with the same seed; the penalty's smoothing part is not scaled by λ = 5.
            var adversarial = new RobustnessWeightedAdversarialRegularizer(radius: 0.3, smoothing: 0.1, seed: 11).Attack(model, inputs, clean);
            var adversarialLogits = model.call(adversarial);
            var weights = RobustnessWeightedAdversarialRegularizer.Weights(adversarialLogits, targets);
            return RobustnessWeightedAdversarialRegularizer.WeightedDivergence(clean, adversarialLogits, weights)
                .add(RobustnessWeightedAdversarialRegularizer.SmoothingPenalty(clean, targets, 0.1).div(5.0));
        });
    }

    [Fact]
    public void A_resumed_regularizer_starts_the_attack_where_the_saved_one_would_have()
    {
        using var scope = NewDisposeScope();
        var model = Network();
        var inputs = randn(4, 4, dtype: float64, generator: new Generator(1));
        var clean = model.call(inputs);
        var original = new RobustnessWeightedAdversarialRegularizer(seed: 2);
        original.Attack(model, inputs, clean);
        var resumed = new RobustnessWeightedAdversarialRegularizer(seed: 2);
        resumed.LoadState(Array.Empty<(string, Tensor)>(), original.SaveState(Array.Empty<(string, Tensor)>()));
        Assert.True(resumed.Attack(model, inputs, clean).equal(original.Attack(model, inputs, clean)).all().item<bool>());
        Assert.Throws<ArgumentException>(() => resumed.LoadState(Array.Empty<(string, Tensor)>(), new Dictionary<string, Tensor> { ["w.rho"] = zeros(1) }));
    }

    [Fact]
    public void Targets_that_are_not_class_indices_and_token_inputs_are_refused()
    {
        using var scope = NewDisposeScope();
        var model = nn.Sequential(nn.Linear(3, 2));
        var inputs = randn(4, 3);
        var context = new RegularizationContext(model, inputs, randn(4, 2), model.call(inputs), Array.Empty<Tensor>());
        Assert.Contains("class index", Assert.Throws<ArgumentException>(() => new RobustnessWeightedAdversarialRegularizer().LossPenalty(context, 1.0)).Message);
        var tokens = new RegularizationContext(model, randint(0, 5, new long[] { 4, 3 }), zeros(4, dtype: int64), randn(4, 2), Array.Empty<Tensor>());
        Assert.Contains("real-valued", Assert.Throws<InvalidOperationException>(() => new RobustnessWeightedAdversarialRegularizer().LossPenalty(tokens, 1.0)).Message);
    }

    [Fact]
    public void The_spec_arow_sets_its_parameters_and_refuses_a_smoothing_of_one_in_one_line()
    {
        var term = RegularizerSpec.Parse("arow:6:eps=0.05:steps=10:smoothing=0.1:seed=3").Single();
        var arow = Assert.IsType<RobustnessWeightedAdversarialRegularizer>(term.Regularizer);
        Assert.Equal((0.05, 10, 0.1, 3UL, 6.0), (arow.Radius, arow.Steps, arow.Smoothing, arow.Seed, term.Strength));
        var fallback = Assert.IsType<RobustnessWeightedAdversarialRegularizer>(RegularizerCatalog.Create("arow"));
        Assert.Equal((LocalLinearityRegularizer.DefaultRadius, 3, 0.2), (fallback.Radius, fallback.Steps, fallback.Smoothing));
        var message = Assert.Throws<FormatException>(() => RegularizerSpec.Parse("arow:6:smoothing=1")).Message;
        Assert.Contains("smoothing must be in [0, 1)", message);
        Assert.DoesNotContain("\n", message);
    }
}
