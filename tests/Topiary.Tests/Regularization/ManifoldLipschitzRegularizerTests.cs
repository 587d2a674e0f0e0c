using TorchSharp;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class ManifoldLipschitzRegularizerTests
{
    // The k nearest other rows of x (B, D), by hand.
    private static int[][] NearestOthers(double[,] x, int k)
    {
        var count = x.GetLength(0);
        return Enumerable.Range(0, count)
            .Select(i => Enumerable.Range(0, count).Where(j => j != i).OrderBy(j => SquaredDistance(x, i, x, j)).Take(k).ToArray())
            .ToArray();
    }

    private static double SquaredDistance(double[,] a, int i, double[,] b, int j) =>
        Enumerable.Range(0, a.GetLength(1)).Sum(d => (a[i, d] - b[j, d]) * (a[i, d] - b[j, d]));

    private static double[,] Matrix(Tensor t)
    {
        var values = t.data<double>().ToArray();
        var (rows, columns) = ((int)t.shape[0], (int)t.shape[1]);
        var result = new double[rows, columns];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < columns; c++) result[r, c] = values[r * columns + c];
        return result;
    }

    [Fact]
    public void With_uniform_duals_it_is_the_knn_graph_Laplacian_penalty_computed_by_hand_and_duals_weight_each_anchor()
    {
        using var scope = NewDisposeScope();
        const int k = 3;
        var x = randn(7, 3, dtype: float64, generator: new Generator(1));
        var f = randn(7, 4, dtype: float64, generator: new Generator(2));
        var (xs, fs) = (Matrix(x), Matrix(f));
        var graph = NearestOthers(xs, k);
        double Expected(double[] lambda) => Enumerable.Range(0, 7)
            .Sum(i => lambda[i] * graph[i].Sum(j => SquaredDistance(fs, i, fs, j) / SquaredDistance(xs, i, xs, j)) / k) / 7;

        var uniform = Enumerable.Repeat(1.0, 7).ToArray();
        Assert.Equal(Expected(uniform), ManifoldLipschitzRegularizer.Laplacian(f, x, ones(7, dtype: float64), k).item<double>(), 12);
        var lambda = new[] { 0, 0.5, 2, 1, 0, 3, 0.1 };
        Assert.Equal(Expected(lambda), ManifoldLipschitzRegularizer.Laplacian(f, x, tensor(lambda, dtype: float64), k).item<double>(), 12);

        var slopes = ManifoldLipschitzRegularizer.SquaredSlopes(f, x, k).data<double>().ToArray();
        for (var i = 0; i < 7; i++)
            Assert.Equal(graph[i].Max(j => SquaredDistance(fs, i, fs, j) / SquaredDistance(xs, i, xs, j)), slopes[i], 12);
    }

    [Fact]
    public void Its_gradient_is_the_weighted_Laplacian_applied_to_the_outputs()
    {
        using var scope = NewDisposeScope();
        const int k = 2;
        var x = randn(6, 2, dtype: float64, generator: new Generator(3));
        var f = randn(6, 3, dtype: float64, generator: new Generator(4)).requires_grad_();
        var lambda = new[] { 1, 0, 2.5, 0.3, 1, 4 };
        ManifoldLipschitzRegularizer.Laplacian(f, x, tensor(lambda, dtype: float64), k).backward();
        var (xs, fs) = (Matrix(x), Matrix(f.detach()));
        var graph = NearestOthers(xs, k);
        var expected = new double[6, 3];
        for (var a = 0; a < 6; a++)
            foreach (var b in graph[a])
            {
                var scale = 2 * lambda[a] / SquaredDistance(xs, a, xs, b) / (6 * k);
                for (var c = 0; c < 3; c++)
                {
                    expected[a, c] += scale * (fs[a, c] - fs[b, c]);
                    expected[b, c] -= scale * (fs[a, c] - fs[b, c]);
                }
            }
        var actual = Matrix(f.grad!);
        for (var a = 0; a < 6; a++)
            for (var c = 0; c < 3; c++) Assert.Equal(expected[a, c], actual[a, c], 12);
    }

    private static RegularizationContext Context(nn.Module<Tensor, Tensor> model, Tensor x) =>
        new(model, x, zeros(x.shape[0], dtype: int64), model.call(x), Array.Empty<Tensor>());

    [Fact]
    public void The_penalty_through_the_softmax_matches_central_finite_differences_in_the_weights()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var model = nn.Linear(3, 4);
        model.to(float64);
        var x = randn(9, 3, dtype: float64, generator: new Generator(5));
        // Duals other than 1: one evaluation of a warm-up regularizer, whose state each evaluation starts from.
        var warm = new ManifoldLipschitzRegularizer(neighbours: 3, stepSize: 0.5);
        warm.LossPenalty(Context(model, x), 1);
        var state = warm.SaveState([]);
        Assert.Contains(warm.DualsOf(x), d => d != 1);
        double Evaluate(bool backward)
        {
            var fresh = new ManifoldLipschitzRegularizer(neighbours: 3, stepSize: 0.5);
            fresh.LoadState([], state);
            var penalty = fresh.LossPenalty(Context(model, x), 2.0)!;
            if (backward) penalty.backward();
            return penalty.item<double>();
        }
        Evaluate(backward: true);
        var weight = model.weight!;
        var analytic = weight.grad!.clone();
        const double h = 1e-6;
        for (var index = 0; index < weight.numel(); index++)
        {
            using var flat = weight.detach().view(-1);
            var original = flat[index].item<double>();
            using (no_grad()) flat[index] = tensor(original + h, dtype: float64);
            var plus = Evaluate(backward: false);
            using (no_grad()) flat[index] = tensor(original - h, dtype: float64);
            var minus = Evaluate(backward: false);
            using (no_grad()) flat[index] = tensor(original, dtype: float64);
            Assert.Equal((plus - minus) / (2 * h), analytic.view(-1)[index].item<double>(), 6);
        }
    }

    [Fact]
    public void Dual_steps_raise_a_dual_only_where_the_constraint_is_violated_and_never_go_below_zero()
    {
        var duals = new[] { 1, 1, 1, 0.01, 0 };
        var slopes = new[] { 3.0, 2, 1, 0, 5 };
        var next = ManifoldLipschitzRegularizer.DualStep(duals, slopes, squaredBound: 2, stepSize: 0.5);
        Assert.True(next[0] > duals[0]);
        Assert.Equal(duals[1], next[1]);
        Assert.True(next[2] < duals[2]);
        Assert.Equal(0, next[3]);
        Assert.True(next[4] > 0);
        Assert.All(next, d => Assert.True(d >= 0));
        Assert.True(ManifoldLipschitzRegularizer.BoundStep(2, meanDual: 1.5, stepSize: 0.1) > 2);
        Assert.Equal(2, ManifoldLipschitzRegularizer.BoundStep(2, meanDual: 1, stepSize: 0.1));
        Assert.True(ManifoldLipschitzRegularizer.BoundStep(2, meanDual: 0.2, stepSize: 0.1) < 2);
    }

    [Fact]
    public void A_step_updates_each_examples_dual_by_its_own_violation_and_finds_it_again_in_a_reshuffled_batch()
    {
        using var scope = NewDisposeScope();
        var model = nn.Identity();
        var x = randn(8, 2, dtype: float64, generator: new Generator(6));
        var regularizer = new ManifoldLipschitzRegularizer(neighbours: 2, stepSize: 0.3, softmax: false);
        var slopes = ManifoldLipschitzRegularizer.SquaredSlopes(x.mul(x), x, 2).data<double>().ToArray();
        var nonlinear = new RegularizationContext(model, x, zeros(8, dtype: int64), x.mul(x), Array.Empty<Tensor>());
        Assert.Null(regularizer.SquaredBound);
        regularizer.LossPenalty(nonlinear, 1);

        var rho = slopes.Order().ElementAt(4);
        var duals = regularizer.DualsOf(x);
        Assert.Equal(ManifoldLipschitzRegularizer.DualStep(Enumerable.Repeat(1.0, 8).ToArray(), slopes, rho, 0.3), duals);
        for (var i = 0; i < 8; i++) Assert.Equal(slopes[i] > rho, duals[i] > 1);
        Assert.All(duals, d => Assert.True(d >= 0));
        Assert.Equal(ManifoldLipschitzRegularizer.BoundStep(rho, duals.Average(), 0.3), regularizer.SquaredBound!.Value, 12);
        Assert.Equal(8, regularizer.Examples);

        var order = tensor(new long[] { 5, 2, 7, 0, 1, 6, 3, 4 });
        var shuffled = regularizer.DualsOf(x.index_select(0, order));
        Assert.Equal(order.data<long>().ToArray().Select(i => duals[i]), shuffled);
        Assert.All(regularizer.DualsOf(x.add(1)), d => Assert.Equal(ManifoldLipschitzRegularizer.InitialDual, d));
    }

    // The primal–dual pair (ρ, λ) circles its saddle point rather than settling, so the estimate is judged by its mean.
    [Fact]
    public void With_the_function_held_fixed_the_estimate_circles_the_largest_local_Lipschitz_ratio()
    {
        using var scope = NewDisposeScope();
        var model = nn.Identity();
        var x = randn(10, 2, dtype: float64, generator: new Generator(8));
        var f = x.sin().mul(3);
        var context = new RegularizationContext(model, x, zeros(10, dtype: int64), f, Array.Empty<Tensor>());
        var regularizer = new ManifoldLipschitzRegularizer(neighbours: 3, stepSize: 0.3, softmax: false);
        var estimates = new List<double>();
        for (var step = 0; step < 100; step++)
        {
            regularizer.LossPenalty(context, 1);
            estimates.Add(regularizer.SquaredBound!.Value);
        }
        var largest = ManifoldLipschitzRegularizer.SquaredSlopes(f, x, 3).max().item<double>();
        var late = estimates.Skip(50).ToList();
        Assert.Equal(1, Math.Sqrt(late.Average() / largest), 0.1);
        Assert.True(late.Min() < largest && late.Max() > largest, "the bound should cross the largest ratio from both sides");
    }

    // Labels with a few flipped, so that fitting them all takes steep turns between neighbouring inputs.
    private static double LargestRatioAfterTraining(double strength)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 2));
        model.to(float64);
        var x = randn(24, 2, dtype: float64, generator: new Generator(12));
        var labels = tensor(x.select(1, 0).data<double>().ToArray().Select((v, i) => (v > 0) ^ (i < 4) ? 1L : 0L).ToArray());
        using var step = new RegularizedStep(model, new ManifoldLipschitzRegularizer(neighbours: 3), model.parameters().ToList(), masks: null);
        using var optimizer = optim.Adam(model.parameters(), lr: 0.05);
        for (var i = 0; i < 80; i++)
        {
            step.Backward(x, labels, strength);
            optimizer.step();
        }
        using (no_grad()) return ManifoldLipschitzRegularizer.SquaredSlopes(model.call(x).softmax(1), x, 3).max().item<double>();
    }

    [Fact]
    public void Trained_under_it_a_network_fitting_noisy_labels_has_a_smaller_largest_local_Lipschitz_ratio()
    {
        var plain = LargestRatioAfterTraining(0);
        var smooth = LargestRatioAfterTraining(3);
        Assert.True(smooth < 0.25 * plain, $"largest squared ratio {smooth} under mlip, {plain} without");
    }

    [Fact]
    public void A_restored_state_continues_identically_and_a_foreign_one_is_refused()
    {
        using var scope = NewDisposeScope();
        var model = nn.Identity();
        var x = randn(6, 3, dtype: float64, generator: new Generator(9));
        var context = new RegularizationContext(model, x, zeros(6, dtype: int64), x.tanh(), Array.Empty<Tensor>());
        var original = new ManifoldLipschitzRegularizer(neighbours: 2, stepSize: 0.2, softmax: false);
        original.LossPenalty(context, 1);
        var restored = new ManifoldLipschitzRegularizer(neighbours: 2, stepSize: 0.2, softmax: false);
        restored.LoadState([], original.SaveState([]));
        Assert.Equal(original.LossPenalty(context, 1)!.item<double>(), restored.LossPenalty(context, 1)!.item<double>());
        Assert.Equal(original.DualsOf(x), restored.DualsOf(x));
        Assert.Equal(original.SquaredBound, restored.SquaredBound);
        // Without the state a fresh instance weighs every example 1: the test can fail.
        Assert.NotEqual(original.LossPenalty(context, 1)!.item<double>(), new ManifoldLipschitzRegularizer(2, 0.2, false).LossPenalty(context, 1)!.item<double>());

        var foreign = new Dictionary<string, Tensor> { ["q"] = ones(2) };
        Assert.Throws<ArgumentException>(() => restored.LoadState([], foreign));
        var uneven = new Dictionary<string, Tensor> { ["examples"] = zeros(3, dtype: int64), ["duals"] = ones(2, dtype: float64) };
        Assert.Throws<ArgumentException>(() => restored.LoadState([], uneven));
    }

    [Theory]
    [InlineData("k", 0.0)]
    [InlineData("k", 1.5)]
    [InlineData("eta", 0.0)]
    [InlineData("eta", double.NaN)]
    [InlineData("softmax", 2.0)]
    public void Bad_parameters_are_refused_with_their_key(string key, double value)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => RegularizerLibrary.Find("mlip")!.Create(new Dictionary<string, double> { [key] = value }));
        Assert.Equal(key, error.ParamName);
    }

    [Fact]
    public void Bad_constructor_arguments_a_graph_larger_than_the_batch_and_mismatched_duals_are_refused()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentOutOfRangeException>(() => new ManifoldLipschitzRegularizer(neighbours: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ManifoldLipschitzRegularizer(stepSize: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ManifoldLipschitzRegularizer.Laplacian(ones(3, 2), ones(3, 2), ones(3), 3));
        Assert.Throws<ArgumentException>(() => ManifoldLipschitzRegularizer.Laplacian(ones(4, 2), randn(4, 2), ones(3), 2));
        Assert.Throws<ArgumentException>(() => ManifoldLipschitzRegularizer.DualStep([1.0], [1.0], 0, 0.1));
    }
}
