using TorchSharp;
using TorchSharp.Modules;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class SparseLowRankAdaptationTests
{
    // A small classifier trained by a RegularizedStep; SaRA acts on its two weight matrices, the biases train as usual.
    private sealed class Run : IDisposable
    {
        private readonly optim.Optimizer optimizer;
        private readonly RegularizedStep step;
        private readonly Tensor x, y;
        private readonly double learningRate;

        public Run(SparseLowRankAdaptation sara, string optimizerName, int seed = 21)
        {
            manual_seed(seed);
            Model = nn.Sequential(("fc1", nn.Linear(4, 8)), ("tanh", nn.Tanh()), ("fc2", nn.Linear(8, 3)));
            Named = Model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
            Weights = Model.named_parameters().Where(p => p.name.EndsWith("weight")).Select(p => p.parameter).ToList();
            learningRate = 0.05;
            optimizer = optimizerName switch
            {
                "adamw" => optim.AdamW(Model.parameters(), learningRate, weight_decay: 0.5),
                "sgd" => optim.SGD(Model.parameters(), learningRate, momentum: 0.9, weight_decay: 0.5),
                _ => optim.SGD(Model.parameters(), learningRate, weight_decay: 0.5),
            };
            step = new RegularizedStep(Model, sara, Weights, masks: null);
            var generator = new Generator(22);
            x = randn(32, 4, generator: generator);
            y = randint(0, 3, 32, generator: generator);
        }

        public nn.Module<Tensor, Tensor> Model { get; }
        public List<(string Name, Tensor Parameter)> Named { get; }
        public List<Parameter> Weights { get; }

        public void Steps(int count, double gamma)
        {
            for (var t = 0; t < count; t++)
            {
                using var scope = NewDisposeScope();
                step.Backward(x, y, gamma);
                optimizer.step();
                step.Finish(gamma, learningRate);
            }
        }

        public List<Tensor> Snapshot() => Model.parameters().Select(p => p.detach().clone()).ToList();

        public void Dispose()
        {
            step.Dispose();
            optimizer.Dispose();
        }
    }

    private static float[] Floats(Tensor t) => t.detach().data<float>().ToArray();

    [Fact]
    public void The_trainable_set_is_exactly_the_smallest_fraction_of_the_non_zero_pretrained_magnitudes()
    {
        using var scope = NewDisposeScope();
        var weight = randn(6, 10, dtype: float64, generator: new Generator(1));
        weight[0, 3] = tensor(0.0, dtype: float64);
        weight[2, 7] = tensor(0.0, dtype: float64);
        weight[5, 1] = tensor(0.0, dtype: float64);
        var sara = new SparseLowRankAdaptation(fraction: 0.2);
        sara.AddGradient(weight, zeros_like(weight), 0);
        var chosen = sara.TrainableEntries(weight)!.flatten().data<bool>().ToArray();

        var magnitudes = weight.abs().flatten().data<double>().ToArray();
        var live = Enumerable.Range(0, magnitudes.Length).Where(i => magnitudes[i] != 0).ToList();
        var count = (int)Math.Floor(0.2 * live.Count + 0.5); // 57 live entries: 11
        var expected = live.OrderBy(i => magnitudes[i]).Take(count).ToHashSet();
        Assert.Equal(11, count);
        Assert.Equal(Enumerable.Range(0, magnitudes.Length).Select(expected.Contains).ToArray(), chosen);
        Assert.True(live.Where(i => !expected.Contains(i)).Min(i => magnitudes[i]) > expected.Max(i => magnitudes[i]));
    }

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void Frozen_entries_keep_their_pretrained_values_bit_exactly_under_momentum_and_weight_decay(string optimizer)
    {
        using var scope = NewDisposeScope();
        var sara = new SparseLowRankAdaptation(fraction: 0.25);
        using var run = new Run(sara, optimizer);
        var before = run.Snapshot();
        run.Steps(6, 1e-2);
        var after = run.Snapshot();
        var parameters = run.Model.parameters().ToList();
        for (var i = 0; i < parameters.Count; i++)
        {
            var trainable = sara.TrainableEntries(parameters[i]);
            if (trainable is null)
            {
                Assert.NotEqual(Floats(before[i]), Floats(after[i])); // a bias: trained as usual
                continue;
            }
            var frozen = trainable.logical_not();
            Assert.Equal(Floats(before[i].masked_select(frozen)), Floats(after[i].masked_select(frozen)));
            Assert.True(after[i].masked_select(trainable).ne(before[i].masked_select(trainable)).all().item<bool>(), "a trainable entry did not move");
            Assert.Equal((long)Math.Floor(0.25 * parameters[i].numel() + 0.5), trainable.sum().item<long>());
        }
    }

    [Theory]
    [InlineData(new long[] { 5, 3 })]
    [InlineData(new long[] { 3, 5 })]
    [InlineData(new long[] { 4, 2, 2, 2 })]
    public void The_nuclear_gradient_is_the_autograd_of_the_sum_of_singular_values(long[] shape)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        var weight = randn(shape, dtype: float64, generator: generator);
        var sara = new SparseLowRankAdaptation(fraction: 1);
        Assert.Equal(0, Check.Added(sara, weight, 0.7).abs().max().item<double>()); // ΔW = 0 at the first step
        var pretrained = weight.clone();
        weight.add_(randn(shape, dtype: float64, generator: generator).mul(0.3));

        Tensor Nuclear(Tensor w) => linalg.svdvals(w.sub(pretrained).reshape(shape[0], -1)).sum().mul(0.7);
        var singular = linalg.svdvals(weight.sub(pretrained).reshape(shape[0], -1));
        var n = singular.shape[0];
        Assert.True(singular.narrow(0, 0, n - 1).sub(singular.narrow(0, 1, n - 1)).min().item<double>() > 1e-3, "singular values too close for autograd");
        Assert.True(Check.MaxRelativeDifference(Check.Added(sara, weight, 0.7), Check.Autograd(weight, Nuclear)) < 1e-10);
        Assert.Equal(Nuclear(weight).item<double>(), sara.Penalty(weight, zeros_like(weight), 0.7).item<double>(), 12);
    }

    [Fact]
    public void A_rank_one_update_gets_the_rank_one_subgradient()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(4);
        var weight = randn(4, 6, dtype: float64, generator: generator);
        var sara = new SparseLowRankAdaptation(fraction: 1);
        sara.Remember(weight);
        var left = randn(4, 1, dtype: float64, generator: generator);
        var right = randn(1, 6, dtype: float64, generator: generator);
        weight.add_(left.matmul(right));
        // ‖abᵀ‖_* = ‖a‖‖b‖ with subgradient abᵀ/(‖a‖‖b‖): the zero singular values contribute nothing.
        var expected = left.matmul(right).div(left.norm().mul(right.norm()));
        Assert.True(Check.MaxRelativeDifference(Check.Added(sara, weight, 1), expected) < 1e-10);
    }

    [Fact]
    public void Reselection_takes_the_smallest_fraction_of_the_current_weights_and_pins_the_others_where_they_are()
    {
        using var scope = NewDisposeScope();
        var sara = new SparseLowRankAdaptation(fraction: 0.3, reselectAt: 3);
        using var run = new Run(sara, "adamw");
        var first = run.Weights.Select(w => sara.TrainableEntries(w)).ToList();
        run.Steps(2, 1e-2);
        var beforeReselection = run.Weights.Select(w => w.detach().clone()).ToList();
        run.Steps(3, 1e-2);
        Assert.Equal(5, sara.Steps);
        for (var i = 0; i < run.Weights.Count; i++)
        {
            var trainable = sara.TrainableEntries(run.Weights[i])!;
            var expected = SparseLowRankAdaptation.SmallestEntries(beforeReselection[i], 0.3);
            Assert.Equal(expected.flatten().data<bool>().ToArray(), trainable.flatten().data<bool>().ToArray());
            var frozen = trainable.logical_not();
            Assert.Equal(Floats(beforeReselection[i].masked_select(frozen)), Floats(run.Weights[i].masked_select(frozen)));
        }
        Assert.Contains(Enumerable.Range(0, run.Weights.Count), i => first[i] is null || !first[i]!.eq(sara.TrainableEntries(run.Weights[i])!).all().item<bool>());
    }

    [Fact]
    public void A_saved_state_resumes_bit_identically_and_is_needed()
    {
        using var scope = NewDisposeScope();
        var original = new SparseLowRankAdaptation(fraction: 0.2, reselectAt: 4);
        using var first = new Run(original, "plain");
        first.Steps(3, 1e-2);
        var state = original.SaveState(first.Named);
        var atSave = first.Snapshot();
        first.Steps(3, 1e-2);
        var expected = first.Snapshot().Select(Floats).ToList();

        // Plain SGD keeps no state of its own, so the regularizer's state is all a resumed run needs.
        List<float[]> Resume(bool load)
        {
            var sara = new SparseLowRankAdaptation(0.2, 4);
            using var run = new Run(sara, "plain", seed: 99);
            using (no_grad())
                foreach (var (p, saved) in run.Model.parameters().Zip(atSave)) p.copy_(saved);
            if (load) sara.LoadState(run.Named, state);
            run.Steps(3, 1e-2);
            return run.Snapshot().Select(Floats).ToList();
        }

        var resumed = Resume(load: true);
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i], resumed[i]);
        var restarted = Resume(load: false);
        Assert.Contains(Enumerable.Range(0, expected.Count), i => !expected[i].SequenceEqual(restarted[i]));

        var restored = new SparseLowRankAdaptation(0.2, 4);
        restored.LoadState(first.Named, state);
        Assert.Equal(3, restored.Steps);
        var saved = restored.SaveState(first.Named);
        Assert.Equal(state.Keys.Order(), saved.Keys.Order());
        foreach (var (key, value) in state) Assert.True(value.eq(saved[key]).all().item<bool>(), key);
        Assert.Throws<ArgumentException>(() => restored.LoadState(first.Named, new Dictionary<string, Tensor> { ["fc9.weight.pinned"] = zeros(1) }));
    }

    [Fact]
    public void The_catalogue_builds_it_and_refuses_bad_parameters_in_one_line()
    {
        var term = RegularizerSpec.Parse("sara:1e-2:fraction=0.2:reselect=50").Single();
        var sara = Assert.IsType<SparseLowRankAdaptation>(term.Regularizer);
        Assert.Equal((0.2, 50L, 1e-2), (sara.Fraction, sara.ReselectAt, term.Strength));
        var defaults = Assert.IsType<SparseLowRankAdaptation>(RegularizerSpec.Parse("sara").Single().Regularizer);
        Assert.Equal((0.1, 0L), (defaults.Fraction, defaults.ReselectAt));
        foreach (var bad in new[] { "sara:1e-3:fraction=0", "sara:1e-3:fraction=1.5", "sara:1e-3:reselect=-1", "sara:1e-3:reselect=2.5", "sara:-1" })
        {
            var message = Assert.Throws<FormatException>(() => RegularizerSpec.Parse(bad)).Message;
            Assert.DoesNotContain('\n', message);
        }
    }
}
