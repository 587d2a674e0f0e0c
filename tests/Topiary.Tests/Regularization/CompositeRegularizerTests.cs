using Topiary.Methods;
using TorchSharp;
using Topiary.Optimization;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Tests.Regularization;

public class CompositeRegularizerTests
{
    [Fact]
    public void A_composite_adds_each_terms_gradient_at_its_own_strength_and_each_sees_the_loss_gradient_alone()
    {
        using var scope = NewDisposeScope();
        var w = randn(6, 9, dtype: float64, generator: new Generator(1));
        var g = randn(6, 9, dtype: float64, generator: new Generator(2));
        var composite = new CompositeRegularizer(new[]
        {
            new RegularizerTerm(new RelevanceWeightDecay(0.5), 1, FollowsSchedule: true),
            new RegularizerTerm(new SoftOrthonormality(), 1e-2),
            new RegularizerTerm(new NormLoss(), 3e-2),
        });
        var combined = g.clone();
        composite.AddGradient(w, combined, 0.7);

        var expected = g.clone();
        foreach (var (regularizer, strength) in new (GradientRegularizer, double)[] { (new RelevanceWeightDecay(0.5), 0.7), (new SoftOrthonormality(), 1e-2), (new NormLoss(), 3e-2) })
        {
            var single = g.clone();
            regularizer.AddGradient(w, single, strength);
            expected.add_(single.sub(g));
        }
        Assert.True(Check.MaxRelativeDifference(combined, expected) < 1e-12);
        var penalty = composite.Penalty(w, g, 0.7).item<double>();
        var sum = new RelevanceWeightDecay(0.5).Penalty(w, g, 0.7).item<double>() + new SoftOrthonormality().Penalty(w, g, 1e-2).item<double>()
            + new NormLoss().Penalty(w, g, 3e-2).item<double>();
        Assert.Equal(sum, penalty, 10);
    }

    [Fact]
    public void The_step_applies_structured_regularizers_to_matrices_only()
    {
        manual_seed(3);
        var model = nn.Linear(5, 4);
        var biasBefore = model.bias!.detach().clone();
        var weightBefore = model.weight!.detach().clone();
        using var optimizer = new SgdOptimizer(model.parameters(), 1.0, momentum: 0);
        // A zero loss leaves only the regularizer's gradient: the bias must not move.
        using var step = new RegularizedStep(model, optimizer, new SoftOrthonormality(), model.parameters().ToList(), masks: null,
            (output, _) => output.mul(0).sum());
        step.Run(randn(3, 5), zeros(3, dtype: int64), 0.1);
        Assert.True(model.bias!.detach().eq(biasBefore).all().item<bool>());
        Assert.False(model.weight!.detach().eq(weightBefore).all().item<bool>());
    }

    [Fact]
    public void Specs_parse_with_default_strengths_and_reject_bad_items_with_a_reason()
    {
        var terms = RegularizerSpec.Parse("spectral:1e-3, so ,clip:2");
        Assert.Equal(new[] { "spectral", "so", "clip" }, terms.Select(t => t.Regularizer.Name));
        Assert.Equal(new[] { 1e-3, 1e-4, 2.0 }, terms.Select(t => t.Strength));
        Assert.Contains("unknown regularizer 'orthogonal'", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("orthogonal:1")).Message);
        Assert.Contains("finite number", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("so:-1")).Message);
        Assert.Contains("empty item", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("so,,l2")).Message);
        Assert.Contains("at most one", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("sam,fgr")).Message);
        var error = Assert.Throws<PruningOptionException>(() => new MethodSettings { Regularizers = "so:abc" }.ApplyTo(new RelevancePruning()));
        Assert.Equal(nameof(MethodSettings.Regularizers), error.Property);
    }

    [Fact]
    public void With_one_term_the_composite_step_equals_the_plain_step()
    {
        var inputs = randn(16, 5, generator: new Generator(4));
        var targets = randint(0, 3, new long[] { 16 }, generator: new Generator(5));
        Tensor Train(GradientRegularizer regularizer)
        {
            manual_seed(6);
            var model = nn.Linear(5, 3);
            using var optimizer = new AdamOptimizer(model.parameters());
            using var step = new RegularizedStep(model, optimizer, regularizer, model.parameters().ToList(), masks: null);
            for (var i = 0; i < 3; i++) step.Run(inputs, targets, 0.05);
            return model.weight!.detach().clone();
        }
        var plain = Train(new RelevanceWeightDecay());
        var composite = Train(new CompositeRegularizer(new[] { new RegularizerTerm(new RelevanceWeightDecay(), 1, FollowsSchedule: true) }));
        Assert.True(plain.eq(composite).all().item<bool>());
    }
}
