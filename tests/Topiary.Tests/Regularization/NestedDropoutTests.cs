using TorchSharp;
using TorchSharp.Modules;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class NestedDropoutTests
{
    [Fact]
    public void Every_row_of_the_mask_is_a_prefix_that_keeps_the_first_feature()
    {
        using var scope = NewDisposeScope();
        var mask = NestedDropout.PrefixMask(500, 12, 0.2, new Generator(1), float64);
        Assert.Equal(new long[] { 500, 12 }, mask.shape);
        Assert.True(mask[.., 0].eq(1).all().item<bool>());
        Assert.True(mask[.., 1..].le(mask[.., ..^1]).all().item<bool>(), "a kept feature follows a dropped one");
        Assert.True(mask.eq(0).logical_or(mask.eq(1)).all().item<bool>());
    }

    [Fact]
    public void Feature_j_is_kept_with_probability_that_b_is_at_least_j()
    {
        using var scope = NewDisposeScope();
        const double p = 0.3;
        const int n = 40000;
        var rates = NestedDropout.PrefixMask(n, 8, p, new Generator(2), float64).mean([0]).data<double>().ToArray();
        for (var j = 0; j < rates.Length; j++)
        {
            var expected = Math.Pow(1 - p, j);
            var tolerance = 4 * Math.Sqrt(expected * (1 - expected) / n) + 1e-12;
            Assert.True(Math.Abs(rates[j] - expected) <= tolerance, $"feature {j}: kept {rates[j]}, P(b ≥ {j}) = {expected}");
        }
        Assert.True(NestedDropout.PrefixMask(100, 5, 0, new Generator(3), float64).eq(1).all().item<bool>());
    }

    [Fact]
    public void A_probability_outside_zero_to_one_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NestedDropout.PrefixMask(2, 2, 1.5, new Generator(0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NestedDropout().ComputeGradients(ObjectiveClosure.Of([], () => zeros(1).sum()), -0.1));
    }

    private static (Sequential Model, Linear First, Linear Head) Network()
    {
        manual_seed(11);
        var first = nn.Linear(6, 5);
        var head = nn.Linear(5, 3);
        var model = nn.Sequential(first, head);
        model.to(float64);
        return (model, first, head);
    }

    // The outputs of one training step's forward pass, as RegularizedStep runs it (BeforeForward, then the model).
    private static Tensor StepOutputs(NestedDropout regularizer, Sequential model, Tensor x, double p)
    {
        Tensor? outputs = null;
        var parameters = model.parameters().ToList();
        var closure = new ObjectiveClosure(parameters, () =>
        {
            regularizer.BeforeForward(model, x, zeros(x.shape[0], dtype: int64));
            outputs = model.forward(x);
            var loss = outputs.square().sum();
            return (loss, loss);
        }, () => { foreach (var q in parameters) q.grad?.zero_(); });
        regularizer.ComputeGradients(closure, p);
        return outputs!.detach();
    }

    [Fact]
    public void Only_the_training_step_sees_the_masked_features_and_evaluation_is_unchanged()
    {
        using var scope = NewDisposeScope();
        var (model, first, head) = Network();
        var x = randn(7, 6, dtype: float64, generator: new Generator(4));
        var plain = model.forward(x).detach();
        var regularizer = new NestedDropout();
        regularizer.BeforeForward(model, x, zeros(7, dtype: int64));
        Assert.True(model.forward(x).eq(plain).all().item<bool>(), "outside a step the hook must not be installed");

        var firstOnly = zeros(1, 5, dtype: float64);
        firstOnly[0, 0] = 1;
        var expected = head.forward(first.forward(x).mul(firstOnly)).detach();
        var step = StepOutputs(regularizer, model, x, p: 1);
        Assert.True(step.sub(expected).abs().max().item<double>() < 1e-12, "with p = 1 only the first feature reaches the head");
        Assert.True(head.weight!.grad![.., 1..].eq(0).all().item<bool>(), "dropped features must give the head no gradient");

        Assert.True(model.forward(x).eq(plain).all().item<bool>(), "after the step the hook must be gone");
        Assert.True(StepOutputs(regularizer, model, x, p: 0).eq(plain).all().item<bool>(), "p = 0 is plain training");
    }

    [Fact]
    public void The_masks_are_seeded_and_survive_a_state_round_trip()
    {
        using var scope = NewDisposeScope();
        var (model, _, _) = Network();
        var x = randn(64, 6, dtype: float64, generator: new Generator(5));
        var original = new NestedDropout(seed: 3);
        var twin = new NestedDropout(seed: 3);
        Assert.True(StepOutputs(original, model, x, 0.4).eq(StepOutputs(twin, model, x, 0.4)).all().item<bool>());
        var restored = new NestedDropout(seed: 3);
        restored.LoadState([], original.SaveState([]));
        var next = StepOutputs(original, model, x, 0.4);
        Assert.True(next.eq(StepOutputs(restored, model, x, 0.4)).all().item<bool>());
        Assert.False(next.eq(StepOutputs(new NestedDropout(seed: 4), model, x, 0.4)).all().item<bool>());
        Assert.Throws<ArgumentException>(() => restored.LoadState([], new Dictionary<string, Tensor> { ["other"] = zeros(1) }));
    }
}
