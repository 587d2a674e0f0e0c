using TorchSharp;
using TorchSharp.Modules;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class MixoutTests
{
    private static IEnumerable<Parameter> Weights(TanhNetwork network) => network.Parameters.Where(p => p.dim() >= 2);

    // u = the current weights, then the weights moved away from it, so that the mix changes something.
    private static List<Tensor> RememberThenMove(TanhNetwork network, Mixout mixout, int seed)
    {
        var generator = new Generator((ulong)seed);
        foreach (var w in Weights(network)) mixout.Remember(w);
        var pretrained = network.Snapshot();
        using (no_grad()) foreach (var w in Weights(network)) w.add_(randn(w.shape, dtype: float64, generator: generator).mul(0.4));
        return pretrained;
    }

    // The weights one step of mixout runs its forward pass at, and its data loss.
    private static (List<Tensor> Seen, double Loss) MixedWeights(TanhNetwork network, Mixout mixout, double p)
    {
        List<Tensor> seen = [];
        using var loss = mixout.ComputeGradients(network.Closure(observe: s => seen = s.Select(t => t.detach().clone().DetachFromDisposeScope()).ToList()), p);
        return (seen, loss.item<double>());
    }

    private static double[] Values(Tensor t) => t.detach().to(float64).data<double>().ToArray();

    [Fact]
    public void The_mixed_weights_average_to_the_current_weights_with_the_variance_of_the_mix()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(1);
        var mixout = new Mixout(seed: 3);
        var u = RememberThenMove(network, mixout, 2)[0];
        var w = network.Parameters[0].detach().clone();
        const double p = 0.4;
        const int samples = 1500;
        var sum = zeros_like(w);
        var squares = zeros_like(w);
        var closure = network.Closure(observe: seen =>
        {
            sum.add_(seen[0].detach());
            squares.add_(seen[0].detach().sub(w).square());
        });
        for (var i = 0; i < samples; i++)
        {
            using var step = NewDisposeScope();
            mixout.ComputeGradients(closure, p);
        }
        // Per entry Var(w̃) = (u − w)²·p/(1 − p); the mean of n samples is within 5 standard errors of w.
        var distance = u.sub(w).abs();
        var bound = distance.mul(5 * Math.Sqrt(p / ((1 - p) * samples)));
        Assert.True(sum.div(samples).sub(w).abs().le(bound).all().item<bool>(), "the mean of w̃ is not w");
        var variance = squares.sum().item<double>() / samples;
        var expected = distance.square().sum().item<double>() * p / (1 - p);
        Assert.InRange(variance / expected, 0.9, 1.1);
    }

    [Fact]
    public void The_gradient_is_the_chain_rule_through_the_mix_and_the_weights_come_back_bit_exactly()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(4);
        var mixout = new Mixout(seed: 5);
        var u = RememberThenMove(network, mixout, 6);
        var w = network.Snapshot();
        const double p = 0.3;
        var (seen, loss) = MixedWeights(network, mixout, p);

        for (var i = 0; i < 3; i++) Assert.Equal(Values(w[i]), Values(network.Parameters[i]));
        Assert.Equal(Values(w[1]), Values(seen[1])); // the bias is not mixed
        var leaves = w.Select(t => t.clone().requires_grad_()).ToList();
        var mixed = new List<Tensor> { leaves[0], leaves[1], leaves[2] };
        var replaced = 0;
        foreach (var i in new[] { 0, 2 })
        {
            // w̃ = w + ((M − p)/(1 − p))(u − w) puts M = p + (1 − p)(w̃ − w)/(u − w) on {0, 1}.
            var m = seen[i].sub(w[i]).div(u[i].sub(w[i])).mul(1 - p).add(p);
            var rounded = m.round();
            Assert.True(m.sub(rounded).abs().max().item<double>() < 1e-9, "w̃ is not a two-point mix of w and u");
            replaced += (int)rounded.sum().item<double>();
            // The brief's form: w̃ = ((1 − M)⊙w + M⊙u − p·u)/(1 − p), differentiated by autograd.
            mixed[i] = rounded.neg().add(1).mul(leaves[i]).add(rounded.mul(u[i])).sub(u[i].mul(p)).div(1 - p);
        }
        Assert.InRange(replaced, 1, 24);
        var reference = network.Loss(mixed);
        reference.backward();
        Assert.Equal(reference.item<double>(), loss, 12);
        for (var i = 0; i < 3; i++)
            Assert.True(Check.MaxRelativeDifference(network.Parameters[i].grad!, leaves[i].grad!) < 1e-12, $"parameter {i}");
    }

    [Fact]
    public void At_p_zero_the_gradient_is_the_plain_gradient_exactly()
    {
        using var scope = NewDisposeScope();
        var mixed = new TanhNetwork(7);
        var plain = new TanhNetwork(7);
        var mixout = new Mixout();
        RememberThenMove(mixed, mixout, 8);
        using (no_grad()) for (var i = 0; i < 3; i++) plain.Parameters[i].copy_(mixed.Parameters[i]);
        var before = mixed.Snapshot();

        using var loss = mixout.ComputeGradients(mixed.Closure(), 0);
        using var plainLoss = plain.Closure().Backward();

        Assert.Equal(plainLoss.item<double>(), loss.item<double>());
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(Values(plain.Parameters[i].grad!), Values(mixed.Parameters[i].grad!));
            Assert.Equal(Values(before[i]), Values(mixed.Parameters[i]));
        }
    }

    [Fact]
    public void When_the_pretrained_weights_are_the_weights_the_mix_is_the_weights_bitwise()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(9);
        var before = network.Snapshot();
        // u is taken at the first step, so u = w there whatever M is.
        var (seen, _) = MixedWeights(network, new Mixout(seed: 1), 0.7);
        for (var i = 0; i < 3; i++) Assert.Equal(Values(before[i]), Values(seen[i]));
    }

    [Fact]
    public void Pruned_entries_stay_zero_in_the_mix_though_their_pretrained_values_are_not()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(10);
        var mixout = new Mixout(seed: 2);
        RememberThenMove(network, mixout, 11);
        var weight = network.Parameters[0];
        var mask = ones_like(weight);
        using (no_grad())
        {
            mask[1] = zeros(4, dtype: float64);
            mask[3, 2] = tensor(0.0, dtype: float64);
            weight.mul_(mask);
        }
        Assert.True(mixout.Pretrained(weight)!.mul(mask.neg().add(1)).abs().sum().item<double>() > 0);
        var pruned = mask.eq(0);
        var closure = network.Closure(maskOf: t => ReferenceEquals(t, weight) ? mask : null,
            observe: seen => Assert.Equal(0, seen[0].detach().masked_select(pruned).abs().sum().item<double>()));
        for (var i = 0; i < 20; i++) mixout.ComputeGradients(closure, 0.9);
    }

    [Fact]
    public void In_a_regularized_step_pruned_weights_stay_zero()
    {
        using var scope = NewDisposeScope();
        var mixout = new Mixout(seed: 4);
        // u dense, taken before pruning.
        using var classifier = new PrunedClassifier(14, parameters => { foreach (var p in parameters.Where(mixout.AppliesTo)) mixout.Remember(p); });
        classifier.Train(mixout, 0.5, momentum: 0.9);
        Assert.True(classifier.PrunedAreZero());
    }

    [Fact]
    public void A_probability_of_one_or_more_is_refused()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(12);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Mixout().ComputeGradients(network.Closure(), 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Mixout().ComputeGradients(network.Closure(), -0.1));
        Assert.Contains("below 1", Assert.Throws<FormatException>(() => RegularizerSpec.Parse("mixout:1")).Message);
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("mixout:0.5:seed=-1"));
        Assert.Throws<FormatException>(() => RegularizerSpec.Parse("mixout,sam"));
        var term = RegularizerSpec.Parse("mixout:0.9:seed=7").Single();
        Assert.Equal(7ul, Assert.IsType<Mixout>(term.Regularizer).Seed);
        Assert.Equal(0.9, term.Strength);
        Assert.Equal(0.1, RegularizerSpec.Parse("mixout").Single().Strength);
    }

    [Fact]
    public void A_saved_state_continues_with_the_same_pretrained_weights_and_masks()
    {
        using var scope = NewDisposeScope();
        var network = new TanhNetwork(13);
        var first = new Mixout(seed: 9);
        RememberThenMove(network, first, 14);
        var closure = network.Closure();
        for (var i = 0; i < 2; i++) first.ComputeGradients(closure, 0.5);
        var state = first.SaveState(network.Named);
        var resumed = new Mixout(seed: 9);
        resumed.LoadState(network.Named, state);
        var fresh = new Mixout(seed: 9);
        fresh.LoadState(network.Named, first.SaveState(network.Named).Where(p => !p.Key.StartsWith('#')).ToDictionary());

        List<Tensor> Mix(Mixout m) => MixedWeights(network, m, 0.5).Seen;
        var expected = Mix(first);
        var actual = Mix(resumed);
        for (var i = 0; i < 3; i++) Assert.Equal(Values(expected[i]), Values(actual[i]));
        // Without the generator's state the masks start over and differ.
        Assert.NotEqual(Values(expected[0]), Values(Mix(fresh)[0]));
        Assert.Throws<ArgumentException>(() => resumed.LoadState(network.Named, new Dictionary<string, Tensor> { ["q9.pretrained"] = zeros(1) }));
    }
}
