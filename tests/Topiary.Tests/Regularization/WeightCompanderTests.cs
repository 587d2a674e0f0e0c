using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class WeightCompanderTests
{
    private static double[] Values(Tensor t) => t.detach().to(float64).data<double>().ToArray();

    [Theory]
    [InlineData(1.0, 0.6)]
    [InlineData(0.5, 1.0)]
    public void The_weights_are_bounded_by_the_supremum_and_the_map_is_odd_and_increasing(double a, double b)
    {
        using var scope = NewDisposeScope();
        var v = linspace(-1e4, 1e4, 4001, dtype: float64).sign().mul(logspace(-6, 4, 4001, dtype: float64));
        v = v.sort().Values;
        var w = WeightCompander.Companded(v, a, b, 1);
        var supremum = a * Math.PI / 2;
        Assert.True(w.abs().max().item<double>() < supremum);
        Assert.True(w.abs().max().item<double>() > supremum * 0.9999);
        Assert.Equal(Values(w.neg()), Values(WeightCompander.Companded(v.neg(), a, b, 1)));
        Assert.True(w[1..].sub(w[..^1]).min().item<double>() > 0, "not strictly increasing");
        // A blend with the identity stays odd and increasing, and is unbounded.
        var blend = WeightCompander.Companded(v, a, b, 0.5);
        Assert.True(blend[1..].sub(blend[..^1]).min().item<double>() > 0);
        Assert.True(blend.max().item<double>() > supremum);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.3)]
    public void The_gradient_is_the_paper_s_closed_form_and_matches_finite_differences(double strength)
    {
        using var scope = NewDisposeScope();
        const double a = 0.8, b = 0.5;
        var generator = new Generator(21);
        var v = randn(6, 3, dtype: float64, generator: generator);
        var g = randn(6, 3, dtype: float64, generator: generator);
        var direction = randn(6, 3, dtype: float64, generator: generator);
        var gradient = Check.Autograd(v, x => WeightCompander.Companded(x, a, b, strength).mul(g).sum());
        // ∂φ/∂v = (a/b)/(1 + v²/b²) (the paper's Eq. 3), blended with the identity's 1.
        var slope = v.div(b).square().add(1).reciprocal().mul(a / b).mul(strength).add(1 - strength);
        Assert.True(Check.MaxRelativeDifference(gradient, g.mul(slope)) < 1e-14);
        double L(Tensor x) => WeightCompander.Companded(x, a, b, strength).mul(g).sum().item<double>();
        const double h = 1e-6;
        var numeric = (L(v.add(direction.mul(h))) - L(v.sub(direction.mul(h)))) / (2 * h);
        Assert.Equal(numeric, gradient.mul(direction).sum().item<double>(), 7);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    public void Taking_a_tensor_over_keeps_its_weights_so_training_starts_from_the_model(double strength)
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(22);
        var before = network.First.detach().clone();
        var compander = new WeightCompander(1.0, 0.6);
        compander.Condition(network.First, strength);
        Assert.True(Check.MaxRelativeDifference(network.First, before) < 1e-12);
        var v = compander.Latent(network.First)!;
        if (strength == 1) Assert.True(Check.MaxRelativeDifference(v, before.div(1.0).tan().mul(0.6)) < 1e-12);
        // Weights beyond the bound are taken as just inside it.
        using (no_grad()) network.First[0, 0] = tensor(3.0, dtype: float64);
        var outside = new WeightCompander(1.0, 0.6);
        outside.Condition(network.First);
        Assert.InRange(network.First[0, 0].item<double>(), Math.PI / 2 * 0.99999, Math.PI / 2);
    }

    [Fact]
    public void A_step_moves_v_by_the_chain_rule_and_the_model_holds_the_companded_weights()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(23, outputs: 2);
        var compander = new WeightCompander(0.7, 0.5);
        foreach (var i in new[] { 0, 2 }) compander.Condition(network.Parameters[i]);
        var latent = network.Parameters.Select(p => compander.Latent(p) ?? p.detach().clone()).ToList();
        var leaves = latent.Select(t => t.clone().requires_grad_()).ToList();
        network.Loss([WeightCompander.Companded(leaves[0], 0.7, 0.5, 1), leaves[1], WeightCompander.Companded(leaves[2], 0.7, 0.5, 1)]).backward();
        var expected = leaves.Select(l => l.detach().sub(l.grad!.mul(0.1))).ToList();

        network.Closure().Backward();
        compander.TransformGradients(network.Parameters, 1);
        using (no_grad()) foreach (var p in network.Parameters) p.sub_(p.grad!.mul(0.1));
        foreach (var p in network.Parameters.Where(compander.AppliesTo)) compander.Project(p, p.grad, 1, 0.1);

        Assert.True(Check.MaxRelativeDifference(network.Parameters[1], expected[1]) < 1e-12);
        foreach (var i in new[] { 0, 2 })
        {
            Assert.True(Check.MaxRelativeDifference(compander.Latent(network.Parameters[i])!, expected[i]) < 1e-12, $"v {i}");
            Assert.True(Check.MaxRelativeDifference(network.Parameters[i], WeightCompander.Companded(expected[i], 0.7, 0.5, 1)) < 1e-12, $"w {i}");
        }
    }

    [Fact]
    public void With_a_rescaled_step_the_optimizer_s_step_on_the_raw_gradient_is_multiplied_by_the_slope()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(24);
        var compander = new WeightCompander(1.0, 0.6, rescaleStep: true);
        compander.Condition(network.First);
        var v = compander.Latent(network.First)!;
        network.Closure().Backward();
        var rawGradient = network.First.grad!.detach().clone();
        compander.TransformGradients(network.Parameters, 1);
        Assert.Equal(Values(rawGradient), Values(network.First.grad!));
        // An adaptive optimizer's step, here a sign step of 0.01.
        var step = rawGradient.sign().mul(-0.01);
        using (no_grad()) network.First.add_(step);
        compander.Project(network.First, network.First.grad, 1, 0.01);
        var slope = v.div(0.6).square().add(1).reciprocal().mul(1.0 / 0.6);
        Assert.True(Check.MaxRelativeDifference(compander.Latent(network.First)!, v.add(step.mul(slope))) < 1e-12);
    }

    [Fact]
    public void A_short_training_run_leaves_fewer_near_zero_weights_than_the_plain_network()
    {
        using var scope = NewDisposeScope();
        long NearZero(WeightCompander? compander)
        {
            manual_seed(25);
            var model = nn.Sequential(("fc1", nn.Linear(8, 32)), ("tanh", nn.Tanh()), ("fc2", nn.Linear(32, 3)));
            using (no_grad()) foreach (var p in model.parameters().Where(p => p.dim() == 2)) p.normal_(0, 0.02);
            var parameters = model.parameters().ToList();
            var generator = new Generator(26);
            var x = randn(64, 8, generator: generator);
            var y = randint(0, 3, 64, generator: generator);
            using var optimizer = new Topiary.Optimization.SgdOptimizer(parameters, 0.2, momentum: 0.9);
            using var step = new Topiary.Training.RegularizedStep(model, optimizer, (GradientRegularizer?)compander ?? new NoRegularization(), parameters, masks: null);
            if (compander is not null) foreach (var p in parameters.Where(compander.AppliesTo)) compander.Condition(p);
            for (var t = 0; t < 40; t++) step.Run(x, y, 1);
            return parameters.Where(p => p.dim() == 2).Sum(p => p.detach().abs().lt(0.01).sum().item<long>());
        }
        var plain = NearZero(null);
        var companded = NearZero(new WeightCompander(1.0, 0.6));
        Assert.True(companded < plain * 0.8, $"near-zero weights: {companded} with the compander, {plain} without");
    }

    [Fact]
    public void Pruned_weights_stay_zero_in_regularized_steps()
    {
        using var scope = NewDisposeScope();
        var compander = new WeightCompander();
        using var classifier = new PrunedClassifier(27);
        classifier.Train(compander, 1, momentum: 0.9);
        Assert.True(classifier.PrunedAreZero());
        Assert.Equal(0, compander.Latent(classifier.Masks.Entries[0].Parameter)![2].abs().sum().item<float>());
    }

    [Fact]
    public void The_cli_spec_reads_a_b_and_adaptive_and_refuses_bad_values()
    {
        using var scope = NewDisposeScope();
        var term = RegularizerSpec.Parse("compander:0.5:a=0.8:b=0.7:adaptive=1").Single();
        var compander = Assert.IsType<WeightCompander>(term.Regularizer);
        Assert.Equal((0.8, 0.7, true), (compander.Scale, compander.Stretch, compander.RescaleStep));
        Assert.Equal(0.5, term.Strength);
        var defaults = Assert.IsType<WeightCompander>(RegularizerSpec.Parse("compander").Single().Regularizer);
        Assert.Equal((1.0, 0.6, false), (defaults.Scale, defaults.Stretch, defaults.RescaleStep));
        Assert.Contains("b", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("compander:1:b=0")).Message);
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("compander:1:a=-1"));
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("compander:1:adaptive=2"));
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("compander:1.5"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WeightCompander(stretch: double.NaN));
    }
}
