using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class NeuralCollapseRegularizerTests
{
    private static (double Within, double Between) TermsOf(Tensor features, Tensor labels)
    {
        var (within, between) = NeuralCollapseRegularizer.Terms(features, labels)!.Value;
        return (within.item<double>(), between.item<double>());
    }

    // Features collapsed to the vertices of a simplex ETF (e_k − 1/K in ℝ^K, embedded in ℝ^d, scaled and shifted).
    private static Tensor CollapsedOnSimplex(long[] labels, int classes, int dimension)
    {
        var vertices = eye(classes, dtype: float64).sub(1.0 / classes);
        var embedded = zeros(classes, dimension, dtype: float64);
        embedded[.., ..classes] = vertices;
        var shift = randn(dimension, dtype: float64, generator: new Generator(9));
        return embedded.index_select(0, tensor(labels)).mul(2.5).add(shift);
    }

    [Fact]
    public void Both_terms_are_zero_for_collapsed_features_on_a_simplex_ETF_whatever_the_class_counts()
    {
        using var scope = NewDisposeScope();
        long[] labels = [0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 3];
        var (within, between) = TermsOf(CollapsedOnSimplex(labels, 4, 6), tensor(labels));
        Assert.Equal(0.0, within, 12);
        Assert.Equal(0.0, between, 12);

        var noisy = CollapsedOnSimplex(labels, 4, 6).add(randn(11, 6, dtype: float64, generator: new Generator(2)).mul(0.1));
        var (noisyWithin, noisyBetween) = TermsOf(noisy, tensor(labels));
        Assert.True(noisyWithin > 1e-4 && noisyBetween > 1e-6, $"{noisyWithin}, {noisyBetween}");
    }

    [Fact]
    public void The_within_term_is_the_class_balanced_variance_over_the_spread_of_the_class_means()
    {
        using var scope = NewDisposeScope();
        // Class 0 at {0, 2} (mean 1, variance 1), class 1 at {4}: tr Σ_W = (1 + 0)/2, μ̄ = 2.5, tr Σ_B = (1.5² + 1.5²)/2.
        var (within, between) = TermsOf(tensor(new[,] { { 0.0 }, { 2.0 }, { 4.0 } }), tensor(new long[] { 0, 0, 1 }));
        Assert.Equal(0.5 / 2.25, within, 12);
        Assert.Equal(0.0, between, 12);   // two centered means are always opposite: cos = −1 = −1/(K − 1)
    }

    [Fact]
    public void The_between_term_is_the_mean_squared_gap_of_the_pairwise_cosines_to_minus_one_over_K_minus_one()
    {
        using var scope = NewDisposeScope();
        // Means (0,0), (1,0), (0,1): centered (−1,−1)/3, (2,−1)/3, (−1,2)/3; cosines −1/√10, −1/√10, −4/5.
        var features = tensor(new[,] { { 0.0, 0.0 }, { 1.0, 0.0 }, { 0.0, 1.0 } });
        var (within, between) = TermsOf(features, tensor(new long[] { 0, 1, 2 }));
        var a = -1 / Math.Sqrt(10) + 0.5;
        var b = -0.8 + 0.5;
        Assert.Equal(0.0, within, 12);
        Assert.Equal((2 * 2 * a * a + 2 * b * b) / 6, between, 12);
    }

    [Fact]
    public void Both_terms_are_invariant_to_scaling_translating_and_permuting_the_features()
    {
        using var scope = NewDisposeScope();
        var features = randn(12, 5, dtype: float64, generator: new Generator(3));
        var labels = tensor(new long[] { 0, 1, 2, 0, 0, 2, 1, 0, 0, 0, 2, 0 });
        var (within, between) = TermsOf(features, labels);
        var (scaledWithin, scaledBetween) = TermsOf(features.mul(3.7).add(randn(5, dtype: float64, generator: new Generator(4))), labels);
        var order = randperm(12, generator: new Generator(5));
        var (permutedWithin, permutedBetween) = TermsOf(features.index_select(0, order), labels.index_select(0, order));
        Assert.Equal(within, scaledWithin, 10);
        Assert.Equal(between, scaledBetween, 10);
        Assert.Equal(within, permutedWithin, 12);
        Assert.Equal(between, permutedBetween, 12);
    }

    [Fact]
    public void Descending_it_on_free_imbalanced_features_collapses_them_onto_a_simplex()
    {
        using var scope = NewDisposeScope();
        var labels = tensor(Enumerable.Repeat(0L, 20).Concat(Enumerable.Repeat(1L, 6)).Concat(Enumerable.Repeat(2L, 3)).Append(3L).ToArray());
        var features = new TorchSharp.Modules.Parameter(randn(30, 8, dtype: float64, generator: new Generator(6)), true);
        var (startWithin, startBetween) = TermsOf(features.detach(), labels);
        using var adam = optim.Adam(new[] { features }, lr: 0.1);
        for (var step = 0; step < 60; step++)
        {
            using var inner = NewDisposeScope();
            adam.zero_grad();
            var (within, between) = NeuralCollapseRegularizer.Terms(features, labels)!.Value;
            within.add(between).backward();
            adam.step();
        }
        var (finalWithin, finalBetween) = TermsOf(features.detach(), labels);
        Assert.True(finalWithin < startWithin / 20, $"within {startWithin} → {finalWithin}");
        Assert.True(finalBetween < startBetween / 20, $"between {startBetween} → {finalBetween}");
    }

    [Fact]
    public void In_a_step_its_gradient_is_autograd_of_loss_plus_the_penalty_on_the_penultimate_features()
    {
        using var scope = NewDisposeScope();
        var targets = tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 0, 1 });
        Check.StepMatchesPenalty(new NeuralCollapseRegularizer(betweenWeight: 0.5), 0.7, targets, (_, _, hidden) =>
        {
            var (within, between) = NeuralCollapseRegularizer.Terms(hidden, targets)!.Value;
            return within.add(between.mul(0.5));
        });
    }

    [Fact]
    public void A_batch_of_one_class_adds_nothing_and_targets_that_are_not_class_indices_are_refused()
    {
        using var scope = NewDisposeScope();
        Assert.Null(NeuralCollapseRegularizer.Terms(randn(4, 3), tensor(new long[] { 2, 2, 2, 2 })));
        var model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2));
        var inputs = randn(4, 3);
        using var recorder = new ActivationRecorder(model);
        recorder.Start();
        var outputs = model.call(inputs);
        recorder.Stop();
        var context = new RegularizationContext(model, inputs, randn(4, 2), outputs, recorder.Activations);
        var message = Assert.Throws<ArgumentException>(() => new NeuralCollapseRegularizer().LossPenalty(context, 1.0)).Message;
        Assert.Contains("class index", message);
    }

    [Fact]
    public void The_spec_nc_sets_the_between_weight_and_refuses_a_negative_one_in_one_line()
    {
        var term = RegularizerSpec.Parse("nc:1e-3:between=0.25").Single();
        Assert.Equal((0.25, 1e-3), (Assert.IsType<NeuralCollapseRegularizer>(term.Regularizer).BetweenWeight, term.Strength));
        Assert.Equal(1.0, Assert.IsType<NeuralCollapseRegularizer>(RegularizerCatalog.Create("nc")).BetweenWeight);
        var message = Assert.Throws<FormatException>(() => RegularizerSpec.Parse("nc:1e-3:between=-1")).Message;
        Assert.Contains("between must be a number ≥ 0", message);
        Assert.DoesNotContain("\n", message);
    }
}
