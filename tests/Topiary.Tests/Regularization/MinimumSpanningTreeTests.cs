using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class MinimumSpanningTreeTests
{
    // An independent reference: Kruskal's algorithm over all pairs, with union–find.
    private static List<(int, int)> KruskalEdges(Tensor points)
    {
        var p = points.to(float64);
        var n = (int)p.shape[0];
        var pairs = new List<(double, int, int)>();
        for (var i = 0; i < n; i++)
            for (var j = i + 1; j < n; j++)
                pairs.Add((p[i].sub(p[j]).norm().item<double>(), i, j));
        var root = Enumerable.Range(0, n).ToArray();
        int Find(int i) => root[i] == i ? i : root[i] = Find(root[i]);
        var edges = new List<(int, int)>();
        foreach (var (_, i, j) in pairs.OrderBy(t => t.Item1))
        {
            var (a, b) = (Find(i), Find(j));
            if (a == b) continue;
            root[a] = b;
            edges.Add((i, j));
        }
        return edges;
    }

    private static double LengthOf(Tensor points) => MinimumSpanningTree.Length(points).item<double>();

    [Fact]
    public void On_a_line_the_tree_joins_neighbours_and_its_length_is_the_span()
    {
        using var scope = NewDisposeScope();
        var points = tensor(new[] { 3.0, 8.0, 0.0, 7.0, 1.0 }).unsqueeze(1);
        Assert.Equal(8.0, LengthOf(points), 12);
        var edges = MinimumSpanningTree.Edges(points).Select(e => (Math.Min(e.From, e.To), Math.Max(e.From, e.To))).OrderBy(e => e).ToArray();
        Assert.Equal(new[] { (0, 3), (0, 4), (1, 3), (2, 4) }, edges);
    }

    [Fact]
    public void A_unit_square_spans_three_sides_and_its_centre_shortens_the_tree_to_two_root_two()
    {
        using var scope = NewDisposeScope();
        var square = tensor(new[,] { { 0.0, 0.0 }, { 1.0, 0.0 }, { 1.0, 1.0 }, { 0.0, 1.0 } });
        Assert.Equal(3.0, LengthOf(square), 12);
        Assert.Equal(2 * Math.Sqrt(2), LengthOf(cat(new[] { square, tensor(new[,] { { 0.5, 0.5 } }) })), 12);
    }

    [Theory]
    [InlineData(1, 7, 2)]
    [InlineData(2, 9, 3)]
    [InlineData(3, 12, 5)]
    public void Its_length_equals_Kruskals_on_random_points(int seed, int count, int dimension)
    {
        using var scope = NewDisposeScope();
        var points = randn(count, dimension, dtype: float64, generator: new Generator((ulong)seed));
        var reference = KruskalEdges(points).Sum(e => points[e.Item1].sub(points[e.Item2]).norm().item<double>());
        Assert.Equal(reference, LengthOf(points), 10);
        Assert.Equal(count - 1, MinimumSpanningTree.Edges(points).Count);
    }

    [Fact]
    public void Its_gradient_is_autograd_of_the_sum_of_the_chosen_edges_lengths_and_it_scales_with_the_points()
    {
        using var scope = NewDisposeScope();
        var points = randn(10, 4, dtype: float64, generator: new Generator(4));
        var expected = Check.Autograd(points, p => KruskalEdges(points).Select(e => p[e.Item1].sub(p[e.Item2]).norm()).Aggregate((a, b) => a.add(b)));
        var actual = Check.Autograd(points, MinimumSpanningTree.Length);
        Assert.True(Check.MaxRelativeDifference(actual, expected) < 1e-12);
        Assert.Equal(2.5 * LengthOf(points), LengthOf(points.mul(2.5)), 10);
    }

    [Fact]
    public void Collapsed_points_have_length_zero_and_a_finite_gradient()
    {
        using var scope = NewDisposeScope();
        var points = ones(6, 3, dtype: float64).mul(0.3);
        Assert.Equal(0.0, LengthOf(points), 15);
        Assert.True(Check.Autograd(points, MinimumSpanningTree.Length).isfinite().all().item<bool>());
        Assert.Equal(0.0, LengthOf(points[..1]), 15);
    }

    [Fact]
    public void On_the_unit_sphere_the_objective_is_minus_the_length_per_point_and_off_it_the_sphere_term_adds()
    {
        using var scope = NewDisposeScope();
        var points = randn(8, 3, dtype: float64, generator: new Generator(5));
        var onSphere = points.div(points.norm(1, keepdim: true));
        Assert.Equal(-LengthOf(onSphere) / 8, MinimumSpanningTreeRegularizer.Objective(onSphere, 1.0).item<double>(), 12);
        var sphere = points.norm(1).sub(1).square().mean().item<double>();
        Assert.Equal(-LengthOf(points) / 8 + 0.3 * sphere, MinimumSpanningTreeRegularizer.Objective(points, 0.3).item<double>(), 12);
    }

    [Fact]
    public void In_a_step_its_gradient_is_autograd_of_loss_plus_the_objective_on_the_penultimate_features()
    {
        using var scope = NewDisposeScope();
        var targets = randint(0, 3, new long[] { 9 }, generator: new Generator(2));
        Check.StepMatchesPenalty(new MinimumSpanningTreeRegularizer(sphereWeight: 0.5), 0.7, targets,
            (_, _, hidden) => MinimumSpanningTreeRegularizer.Objective(hidden, 0.5));
    }

    [Fact]
    public void The_spec_tregs_sets_the_sphere_weight_and_refuses_a_negative_one_in_one_line()
    {
        var term = RegularizerSpec.Parse("tregs:1e-3:sphere=0.5").Single();
        Assert.Equal((0.5, 1e-3), (Assert.IsType<MinimumSpanningTreeRegularizer>(term.Regularizer).SphereWeight, term.Strength));
        Assert.Equal(1.0, Assert.IsType<MinimumSpanningTreeRegularizer>(RegularizerCatalog.Create("tregs")).SphereWeight);
        var message = Assert.Throws<FormatException>(() => RegularizerSpec.Parse("tregs:1e-3:sphere=-2")).Message;
        Assert.Contains("sphere must be a number ≥ 0", message);
        Assert.DoesNotContain("\n", message);
    }
}
