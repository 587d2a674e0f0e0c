using Topiary.Regularization;
using TorchSharp;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class GroupDroTests
{
    private static RegularizationContext Context(Tensor logits, long[] targets, Tensor? inputs = null) =>
        new(nn.Identity(), inputs ?? zeros(targets.Length, 1), tensor(targets), logits, []);

    // Per-example cross-entropy by hand.
    private static double[] Losses(double[,] z, long[] y) => Enumerable.Range(0, y.Length).Select(i =>
    {
        var row = Enumerable.Range(0, z.GetLength(1)).Select(c => z[i, c]).ToArray();
        return Math.Log(row.Sum(Math.Exp)) - row[y[i]];
    }).ToArray();

    [Fact]
    public void The_group_weights_follow_the_exponentiated_gradient_step_computed_by_hand()
    {
        using var scope = NewDisposeScope();
        double[,] z = { { 2, 0, -1 }, { 0.5, 0.2, 0 }, { -1, 1, 0.3 }, { 0, 0, 3 }, { 1, -2, 0.5 } };
        long[] y = [0, 0, 1, 2, 2];
        const double eta = 0.7;
        var dro = new GroupDro(eta);
        var losses = Losses(z, y);
        var groupLoss = new[] { (losses[0] + losses[1]) / 2, losses[2], (losses[3] + losses[4]) / 2 };
        var q = new[] { 1 / 3.0, 1 / 3.0, 1 / 3.0 };
        for (var round = 0; round < 2; round++)
        {
            var penalty = dro.LossPenalty(Context(tensor(z), y), 1)!;
            var scaled = q.Select((w, g) => w * Math.Exp(eta * groupLoss[g])).ToArray();
            q = scaled.Select(w => w / scaled.Sum()).ToArray();
            var weights = dro.Weights!.data<double>().ToArray();
            for (var g = 0; g < 3; g++) Assert.Equal(q[g], weights[g], 12);
            // λ = 1: Σ q_g L_g − L with the updated q.
            Assert.Equal(q.Select((w, g) => w * groupLoss[g]).Sum() - losses.Average(), penalty.item<double>(), 12);
        }
    }

    [Fact]
    public void At_lambda_one_the_gradient_is_autograds_of_the_weighted_group_losses_and_at_half_the_mix()
    {
        using var scope = NewDisposeScope();
        var x = randn(12, 4, dtype: float64, generator: new Generator(1));
        var y = randint(0, 3, new long[] { 12 }, generator: new Generator(2));
        manual_seed(3);
        var model = nn.Linear(4, 3);
        model.to(float64);
        // Groups of the user's choosing: the sign of the first feature.
        var dro = new GroupDro(0.5, groups: 2, groupOf: (inputs, _) => inputs.select(1, 0).gt(0).to(int64));
        dro.LossPenalty(new RegularizationContext(model, x, y, model.forward(x).detach(), []), 1);

        foreach (var lambda in new[] { 1.0, 0.5 })
        {
            var reference = dro.Weights!;
            var outputs = model.forward(x);
            var loss = nn.functional.cross_entropy(outputs, y);
            loss.add(dro.LossPenalty(new RegularizationContext(model, x, y, outputs, []), lambda)!).backward();
            var gradient = model.weight!.grad!.clone();
            model.zero_grad();

            // The same update by hand, then Σ_g q_g L_g by autograd with q held.
            var perExample = nn.functional.cross_entropy(model.forward(x), y, reduction: nn.Reduction.None);
            var group = x.select(1, 0).gt(0);
            var groupLosses = new[] { perExample.masked_select(group.logical_not()).mean(), perExample.masked_select(group).mean() };
            var held = groupLosses.Select(l => l.detach().item<double>()).ToArray();
            var q = reference.data<double>().ToArray();
            var scaled = q.Select((w, g) => w * Math.Exp(0.5 * held[g])).ToArray();
            q = scaled.Select(w => w / scaled.Sum()).ToArray();
            var robust = groupLosses[0].mul(q[0]).add(groupLosses[1].mul(q[1]));
            robust.mul(lambda).add(perExample.mean().mul(1 - lambda)).backward();
            Assert.True(gradient.allclose(model.weight!.grad!, rtol: 0, atol: 1e-12), $"λ = {lambda}");
            model.zero_grad();
        }
    }

    [Fact]
    public void A_group_absent_from_the_batch_keeps_its_weight()
    {
        using var scope = NewDisposeScope();
        var dro = new GroupDro(1.0);
        var logits = randn(6, 4, dtype: float64, generator: new Generator(4));
        dro.LossPenalty(Context(logits, [0, 1, 2, 3, 0, 1]), 1);
        var before = dro.Weights!.data<double>().ToArray();
        dro.LossPenalty(Context(logits, [0, 1, 2, 2, 0, 1]), 1);
        var after = dro.Weights!.data<double>().ToArray();
        Assert.Equal(before[3], after[3]);
        Assert.NotEqual(before[2], after[2]);
        Assert.Equal(1.0, after.Sum(), 12);
    }

    [Fact]
    public void The_weights_survive_a_state_round_trip_and_the_next_step_is_the_same()
    {
        using var scope = NewDisposeScope();
        var dro = new GroupDro(0.3);
        Assert.Empty(dro.SaveState([]));
        var first = randn(5, 3, dtype: float64, generator: new Generator(5));
        var second = randn(5, 3, dtype: float64, generator: new Generator(6));
        dro.LossPenalty(Context(first, [0, 0, 1, 2, 2]), 1);
        var restored = new GroupDro(0.3);
        restored.LoadState([], dro.SaveState([]));
        var a = dro.LossPenalty(Context(second, [2, 0, 1, 2, 1]), 0.7)!.item<double>();
        var b = restored.LossPenalty(Context(second, [2, 0, 1, 2, 1]), 0.7)!.item<double>();
        Assert.Equal(a, b);
        Assert.True(dro.Weights!.equal(restored.Weights!).all().item<bool>());
        // A fresh instance starts uniform and would not continue the same way.
        Assert.NotEqual(a, new GroupDro(0.3).LossPenalty(Context(second, [2, 0, 1, 2, 1]), 0.7)!.item<double>());
        Assert.Throws<ArgumentException>(() => restored.LoadState([], new Dictionary<string, Tensor> { ["teacher/w"] = ones(1) }));
    }

    [Fact]
    public void Lambda_zero_is_plain_cross_entropy_and_bad_settings_are_refused()
    {
        using var scope = NewDisposeScope();
        var logits = randn(4, 3, dtype: float64, generator: new Generator(7));
        var dro = new GroupDro();
        Assert.Null(dro.LossPenalty(Context(logits, [0, 1, 2, 0]), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => dro.LossPenalty(Context(logits, [0, 1, 2, 0]), 1.5));
        Assert.Throws<ArgumentException>(() => new GroupDro(groups: 2, groupOf: (_, _) => tensor(new long[] { 0, 1, 5, 0 })).LossPenalty(Context(logits, [0, 1, 2, 0]), 1));
        Assert.Throws<ArgumentException>(() => new GroupDro(adjustment: 1));
        Assert.Equal("eta", Assert.Throws<ArgumentOutOfRangeException>(() => new GroupDro(-1)).ParamName);
        Assert.IsType<GroupDro>(RegularizerSpec.Parse("groupdro:0.5:eta=0.1").Single().Regularizer);
        Assert.Contains("eta", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("groupdro:1:eta=-1")).Message);
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("groupdro:2"));
    }

    [Fact]
    public void With_the_adjustment_smaller_groups_gain_weight_at_equal_losses()
    {
        using var scope = NewDisposeScope();
        var dro = new GroupDro(1.0, adjustment: 2, groups: 2, groupOf: (_, t) => t, groupSizes: [100, 4]);
        dro.LossPenalty(Context(zeros(4, 2, dtype: float64), [0, 1, 0, 1]), 1);
        var q = dro.Weights!.data<double>().ToArray();
        // Equal losses (ln 2): q ∝ exp(C/√n_g).
        var expected = Math.Exp(2 / 2.0) / (Math.Exp(2 / 10.0) + Math.Exp(2 / 2.0));
        Assert.Equal(expected, q[1], 12);
    }
}
