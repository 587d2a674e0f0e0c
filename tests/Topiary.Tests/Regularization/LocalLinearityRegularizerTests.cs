using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class LocalLinearityRegularizerTests
{
    private static RegularizationContext ContextOf(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets) =>
        new(model, inputs, targets, model.call(inputs), Array.Empty<Tensor>());

    [Fact]
    public void It_is_zero_when_the_loss_is_affine_in_the_input_and_positive_when_it_is_not()
    {
        using var scope = NewDisposeScope();
        var inputs = randn(16, 4, dtype: float64, generator: new Generator(1));
        var targets = zeros(16, dtype: int64);
        var direction = tensor(new[] { 0.7, -1.3 }, dtype: float64);
        var linear = nn.Linear(4, 2);
        linear.to(float64);
        var affine = new LocalLinearityRegularizer(radius: 0.5, perExampleLoss: (outputs, _) => outputs.matmul(direction));
        Assert.True(affine.LossPenalty(ContextOf(linear, inputs, targets), 1.0)!.item<double>() < 1e-26);

        var curved = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2));
        curved.to(float64);
        Assert.True(new LocalLinearityRegularizer(radius: 0.5).LossPenalty(ContextOf(curved, inputs, targets), 1.0)!.item<double>() > 1e-8);
    }

    [Fact]
    public void For_a_quadratic_loss_each_error_is_minus_alpha_one_minus_alpha_times_half_the_curvature_along_a_minus_b()
    {
        using var scope = NewDisposeScope();
        var root = randn(5, 5, dtype: float64, generator: new Generator(2));
        var hessian = root.matmul(root.t()).sub(eye(5, dtype: float64).mul(2));   // symmetric, indefinite
        var linearPart = randn(5, dtype: float64, generator: new Generator(3));
        Tensor Loss(Tensor x) => x.matmul(hessian).mul(x).sum(1).mul(0.5).add(x.matmul(linearPart));
        var a = randn(7, 5, dtype: float64, generator: new Generator(4));
        var b = randn(7, 5, dtype: float64, generator: new Generator(5));
        var alpha = rand(7, dtype: float64, generator: new Generator(6));
        var difference = a.sub(b);
        var expected = alpha.mul(alpha.neg().add(1)).mul(difference.matmul(hessian).mul(difference).sum(1)).mul(-0.5);
        Assert.True(Check.MaxRelativeDifference(LocalLinearityRegularizer.Errors(Loss, a, b, alpha), expected) < 1e-12);
    }

    [Fact]
    public void Its_points_lie_in_the_eps_ball_alpha_in_the_unit_interval_and_the_seed_fixes_them()
    {
        using var scope = NewDisposeScope();
        var inputs = randn(50, 1, 6, 6, generator: new Generator(7));
        var (a, b, alpha) = new LocalLinearityRegularizer(radius: 0.2, seed: 4).Sample(inputs);
        foreach (var point in new[] { a, b })
        {
            var offset = point.sub(inputs).abs().max().item<float>();
            Assert.InRange(offset, 0.19f, 0.2f + 1e-6f);
        }
        Assert.True(alpha.ge(0).all().item<bool>() && alpha.le(1).all().item<bool>());
        Assert.Equal(new long[] { 50 }, alpha.shape);
        var (again, _, _) = new LocalLinearityRegularizer(radius: 0.2, seed: 4).Sample(inputs);
        var (other, _, _) = new LocalLinearityRegularizer(radius: 0.2, seed: 5).Sample(inputs);
        Assert.True(again.equal(a).all().item<bool>());
        Assert.False(other.equal(a).all().item<bool>());
    }

    [Fact]
    public void In_a_step_its_gradient_is_autograd_of_loss_plus_the_penalty_and_reaches_the_weights_only()
    {
        using var scope = NewDisposeScope();
        var targets = randint(0, 3, new long[] { 8 }, generator: new Generator(2));
        Check.StepMatchesPenalty(new LocalLinearityRegularizer(radius: 0.3, seed: 11), 50.0, targets, (model, inputs, _) =>
        {
            // The same points, drawn by a twin with the same seed.
            var (a, b, alpha) = new LocalLinearityRegularizer(radius: 0.3, seed: 11).Sample(inputs);
            var errors = LocalLinearityRegularizer.Errors(
                x => nn.functional.cross_entropy(model.call(x), cat(new[] { targets, targets, targets }), reduction: nn.Reduction.None), a, b, alpha);
            return errors.square().mean();
        });
    }

    [Fact]
    public void A_resumed_regularizer_draws_the_points_the_saved_one_would_have_drawn_next()
    {
        using var scope = NewDisposeScope();
        var inputs = randn(4, 3, generator: new Generator(1));
        var original = new LocalLinearityRegularizer(seed: 2);
        original.Sample(inputs);
        var resumed = new LocalLinearityRegularizer(seed: 2);
        resumed.LoadState(Array.Empty<(string, Tensor)>(), original.SaveState(Array.Empty<(string, Tensor)>()));
        Assert.True(resumed.Sample(inputs).A.equal(original.Sample(inputs).A).all().item<bool>());
        Assert.Throws<ArgumentException>(() => resumed.LoadState(Array.Empty<(string, Tensor)>(), new Dictionary<string, Tensor> { ["w.rho"] = zeros(1) }));
    }

    [Fact]
    public void Targets_that_are_not_class_indices_and_token_inputs_are_refused()
    {
        using var scope = NewDisposeScope();
        var model = nn.Sequential(nn.Linear(3, 2));
        var message = Assert.Throws<ArgumentException>(() =>
            new LocalLinearityRegularizer().LossPenalty(ContextOf(model, randn(4, 3), randn(4, 2)), 1.0)).Message;
        Assert.Contains("class index", message);
        var tokens = randint(0, 5, new long[] { 4, 3 });
        var context = new RegularizationContext(model, tokens, zeros(4, dtype: int64), randn(4, 2), Array.Empty<Tensor>());
        Assert.Contains("real-valued", Assert.Throws<InvalidOperationException>(() => new LocalLinearityRegularizer().LossPenalty(context, 1.0)).Message);
    }

    [Fact]
    public void The_spec_elle_sets_eps_and_seed_and_refuses_a_radius_of_zero_in_one_line()
    {
        var term = RegularizerSpec.Parse("elle:10:eps=0.05:seed=3").Single();
        var elle = Assert.IsType<LocalLinearityRegularizer>(term.Regularizer);
        Assert.Equal((0.05, 3UL, 10.0), (elle.Radius, elle.Seed, term.Strength));
        Assert.Equal(LocalLinearityRegularizer.DefaultRadius, Assert.IsType<LocalLinearityRegularizer>(RegularizerCatalog.Create("elle")).Radius);
        var message = Assert.Throws<FormatException>(() => RegularizerSpec.Parse("elle:10:eps=0")).Message;
        Assert.Contains("eps must be a number > 0", message);
        Assert.DoesNotContain("\n", message);
    }
}
