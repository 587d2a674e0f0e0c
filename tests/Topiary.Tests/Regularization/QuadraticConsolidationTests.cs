using TorchSharp;
using TorchSharp.Modules;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class QuadraticConsolidationTests
{
    private const int Examples = 7, Features = 3, Classes = 4;

    private sealed record Head(Tensor Features, Tensor Targets, Parameter Weight, Parameter Bias);

    private static Head NewHead(int seed, Tensor? targets = null)
    {
        var generator = new Generator((ulong)seed);
        return new Head(
            randn(Examples, Features, dtype: float64, generator: generator),
            targets ?? randint(0, Classes, [Examples], dtype: int64, generator: generator),
            new Parameter(randn(Classes, Features, dtype: float64, generator: generator)),
            new Parameter(randn(Classes, dtype: float64, generator: generator)));
    }

    // L_old as a function of θ = [W | b] flattened row by row, computed independently of the regularizer.
    private static Tensor LossAt(Tensor theta, Head head, Func<Tensor, Tensor, Tensor> loss)
    {
        var augmented = theta.view(Classes, Features + 1);
        var logits = head.Features.matmul(augmented.narrow(1, 0, Features).t()).add(augmented[.., Features]);
        return loss(logits, head.Targets);
    }

    private static Tensor Theta(Head head) => cat([head.Weight.detach(), head.Bias.detach().unsqueeze(1)], 1).flatten();

    private static Tensor GradientAt(Tensor theta, Head head, Func<Tensor, Tensor, Tensor> loss) =>
        Check.Autograd(theta, t => LossAt(t, head, loss));

    private static void Move(Head head, int seed)
    {
        var generator = new Generator((ulong)seed);
        using var _ = no_grad();
        head.Weight.add_(randn(head.Weight.shape, dtype: float64, generator: generator).mul(0.3));
        head.Bias.add_(randn(head.Bias.shape, dtype: float64, generator: generator).mul(0.3));
    }

    private static Tensor CrossEntropy(Tensor logits, Tensor targets) => nn.functional.cross_entropy(logits, targets);

    // θ*, H, g* of the cross-entropy at a random head, then the head moved away from θ*.
    private static (Head Head, QuadraticConsolidation Aqc) RememberedThenMoved(int seed)
    {
        var head = NewHead(seed);
        var aqc = new QuadraticConsolidation();
        aqc.Remember(head.Features, head.Targets, head.Weight, head.Bias);
        Move(head, seed + 1);
        return (head, aqc);
    }

    [Fact]
    public void The_penalty_is_the_previous_loss_change_exactly_when_that_loss_is_quadratic()
    {
        using var scope = NewDisposeScope();
        var targets = randn(Examples, Classes, dtype: float64, generator: new Generator(9));
        Func<Tensor, Tensor, Tensor> squared = (logits, y) => logits.sub(y).square().sum().div(2.0 * Examples);
        var head = NewHead(1, targets);
        var aqc = new QuadraticConsolidation(squared);
        aqc.Remember(head.Features, head.Targets, head.Weight, head.Bias);
        var before = LossAt(Theta(head), head, squared).item<double>();
        Move(head, 2);
        var after = LossAt(Theta(head), head, squared).item<double>();
        var penalty = aqc.Penalty(head.Weight, zeros_like(head.Weight), 1.0).item<double>();
        Assert.True(Math.Abs(after - before) > 1e-2, "the move must change the loss");
        Assert.Equal(after - before, penalty, 10);
        Assert.Equal(0.0, aqc.Penalty(head.Bias, zeros_like(head.Bias), 1.0).item<double>());
    }

    [Fact]
    public void The_Hessian_is_symmetric_and_the_finite_difference_of_the_gradient_and_g_star_is_the_gradient()
    {
        using var scope = NewDisposeScope();
        var head = NewHead(3);
        var aqc = new QuadraticConsolidation();
        aqc.Remember(head.Features, head.Targets, head.Weight, head.Bias);
        var theta = Theta(head);
        var h = aqc.Hessian!;
        var n = theta.shape[0];
        Assert.Equal(new[] { n, n }, h.shape);
        Assert.True(Check.MaxRelativeDifference(h, h.t()) < 1e-12);
        Assert.True(Check.MaxRelativeDifference(aqc.Anchor!, theta) == 0);
        Assert.True(Check.MaxRelativeDifference(aqc.AnchorGradient!, GradientAt(theta, head, CrossEntropy)) < 1e-10);
        const double step = 1e-5;
        var columns = Enumerable.Range(0, (int)n).Select(j =>
        {
            var e = zeros(n, dtype: float64);
            e[j] = tensor(step, dtype: float64);
            return GradientAt(theta.add(e), head, CrossEntropy).sub(GradientAt(theta.sub(e), head, CrossEntropy)).div(2 * step);
        }).ToArray();
        Assert.True(Check.MaxRelativeDifference(h, stack(columns, 1)) < 1e-6);
    }

    [Fact]
    public void The_added_gradient_is_the_autograd_gradient_of_R_on_weight_and_bias()
    {
        using var scope = NewDisposeScope();
        var (head, aqc) = RememberedThenMoved(4);
        var (anchor, h, g) = (aqc.Anchor!, aqc.Hessian!, aqc.AnchorGradient!);
        const double strength = 0.7;
        var expected = Check.Autograd(Theta(head), t =>
        {
            var delta = t.sub(anchor);
            return h.matmul(delta).mul(0.5).add(g).dot(delta).mul(strength);
        }).view(Classes, Features + 1);
        Assert.True(Check.MaxRelativeDifference(Check.Added(aqc, head.Weight, strength), expected.narrow(1, 0, Features)) < 1e-12);
        Assert.True(Check.MaxRelativeDifference(Check.Added(aqc, head.Bias, strength), expected[.., Features]) < 1e-12);
        // Penalty knows the head by its handle, so it is differentiated on the parameter itself.
        aqc.Penalty(head.Weight, zeros_like(head.Weight), strength).backward();
        var byPenalty = head.Weight.grad!.detach().clone();
        Assert.True(Check.MaxRelativeDifference(Check.Added(aqc, head.Weight, strength), byPenalty) < 1e-12);
        var other = randn(Classes, Features, dtype: float64);
        Assert.Equal(0.0, Check.Added(aqc, other, strength).abs().sum().item<double>());
    }

    [Fact]
    public void The_first_step_of_a_model_takes_the_head_and_the_features_of_its_first_batch_only()
    {
        using var scope = NewDisposeScope();
        var model = nn.Sequential(("body", nn.Linear(5, Features, dtype: float64)), ("act", nn.Tanh()), ("head", nn.Linear(Features, Classes, dtype: float64)));
        var generator = new Generator(6);
        var inputs = randn(Examples, 5, dtype: float64, generator: generator);
        var targets = randint(0, Classes, [Examples], dtype: int64, generator: generator);
        var aqc = new QuadraticConsolidation();
        aqc.BeforeForward(model, inputs, targets);
        var headLayer = (Linear)model.named_modules().Single(m => m.Item1 == "head").Item2;
        var features = nn.functional.tanh(((Linear)model.named_modules().Single(m => m.Item1 == "body").Item2).call(inputs)).detach();
        var reference = new QuadraticConsolidation();
        reference.Remember(features, targets, headLayer.weight!, headLayer.bias);
        Assert.True(Check.MaxRelativeDifference(aqc.Hessian!, reference.Hessian!) < 1e-12);
        Assert.True(Check.MaxRelativeDifference(aqc.AnchorGradient!, reference.AnchorGradient!) < 1e-12);
        var hessian = aqc.Hessian!;
        aqc.BeforeForward(model, randn(Examples, 5, dtype: float64), targets);
        Assert.True(Check.MaxRelativeDifference(aqc.Hessian!, hessian) == 0);
    }

    [Fact]
    public void The_state_round_trip_keeps_theta_star_H_and_g_star()
    {
        using var scope = NewDisposeScope();
        var (head, aqc) = RememberedThenMoved(7);
        (string, Tensor)[] parameters = [("head.weight", head.Weight), ("head.bias", head.Bias), ("other", randn(2, 2))];
        var state = aqc.SaveState(parameters);
        var restored = new QuadraticConsolidation();
        restored.LoadState(parameters, state);
        Assert.True(Check.MaxRelativeDifference(restored.Hessian!, aqc.Hessian!) == 0);
        Assert.True(Check.MaxRelativeDifference(restored.Anchor!, aqc.Anchor!) == 0);
        Assert.True(Check.MaxRelativeDifference(restored.AnchorGradient!, aqc.AnchorGradient!) == 0);
        Assert.True(Check.MaxRelativeDifference(Check.Added(restored, head.Bias, 1.0), Check.Added(aqc, head.Bias, 1.0)) == 0);
        var broken = state.Where(kv => !kv.Key.EndsWith(".hessian")).ToDictionary();
        Assert.Throws<ArgumentException>(() => new QuadraticConsolidation().LoadState(parameters, broken));
    }

    [Fact]
    public void A_head_larger_than_the_full_Hessian_allows_is_refused_with_its_size()
    {
        using var scope = NewDisposeScope();
        var weight = zeros(10, 2000);
        var error = Assert.Throws<InvalidOperationException>(() =>
            new QuadraticConsolidation().Remember(zeros(2, 2000), zeros(2, dtype: int64), weight, zeros(10)));
        Assert.Contains("20010 parameters", error.Message);
    }
}
