using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
using Topiary.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Pruning;

/// <summary>SNIP, first-order Taylor and movement importance against their formulas, and as every schedule's ranking.</summary>
public class GradientImportanceTests
{
    // One 2×3 weight (the biases are left unpruned): its values and two steps' gradients, by hand.
    private static readonly float[] W1 = [1f, -2f, 3f, -0.5f, 4f, 0.25f];
    private static readonly float[] G1 = [0.1f, 0.2f, -0.3f, 1f, 0f, -2f];
    private static readonly float[] W2 = [1.5f, -1f, 2f, -0.5f, 4f, 1f];
    private static readonly float[] G2 = [-0.2f, 0.1f, 0.1f, 0.5f, 0.01f, 0.5f];

    private static (Linear Layer, PruningMasks Masks) Layer()
    {
        var layer = nn.Linear(3, 2);
        var masks = new PruningMasks([("weight", layer.weight!)]);
        return (layer, masks);
    }

    private static void SetStep(Linear layer, float[] w, float[] g)
    {
        using (no_grad()) layer.weight!.copy_(tensor(w).reshape(2, 3));
        layer.weight!.grad = tensor(g).reshape(2, 3);
    }

    private static float[] Scores(GradientImportance importance, PruningMasks masks) =>
        importance.Criterion(masks.Entries[0]).flatten().data<float>().ToArray();

    private static float[] Expected(Func<int, double> perEntry) => Enumerable.Range(0, 6).Select(i => (float)perEntry(i)).ToArray();

    [Fact]
    public void Snip_scores_the_last_batch_by_the_absolute_gradient_times_the_weight()
    {
        var (layer, masks) = Layer();
        using var importance = new GradientImportance(PruningCriterion.Snip, masks);
        SetStep(layer, W1, G1);
        importance.Observe();
        SetStep(layer, W2, G2);
        importance.Observe();
        Assert.Equal(Expected(i => Math.Abs(G2[i] * W2[i])), Scores(importance, masks), new FloatTolerance(1e-6f));
        // The toolkit's criterion reads the gradient in place: the same numbers.
        Assert.Equal(Expected(i => Math.Abs(G2[i] * W2[i])), Importance.GradientTimesWeight(masks.Entries[0]).flatten().data<float>().ToArray(), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Taylor_sums_absolute_products_until_a_pruning_event_starts_a_new_sum()
    {
        var (layer, masks) = Layer();
        using var importance = new GradientImportance(PruningCriterion.Taylor, masks);
        SetStep(layer, W1, G1);
        importance.Observe();
        SetStep(layer, W2, G2);
        importance.Observe();
        Assert.Equal(Expected(i => Math.Abs(G1[i] * W1[i]) + Math.Abs(G2[i] * W2[i])), Scores(importance, masks), new FloatTolerance(1e-6f));
        importance.AfterPruning();
        Assert.All(Scores(importance, masks), s => Assert.Equal(0f, s));
        importance.Observe();
        Assert.Equal(Expected(i => Math.Abs(G2[i] * W2[i])), Scores(importance, masks), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Movement_sums_minus_gradient_times_weight_over_the_whole_run()
    {
        var (layer, masks) = Layer();
        using var importance = new GradientImportance(PruningCriterion.Movement, masks);
        SetStep(layer, W1, G1);
        importance.Observe();
        importance.AfterPruning();
        SetStep(layer, W2, G2);
        importance.Observe();
        // A weight whose gradient points away from zero (g·w < 0: the step grows |w|) scores high.
        Assert.Equal(Expected(i => -(G1[i] * W1[i]) - G2[i] * W2[i]), Scores(importance, masks), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Accumulated_scores_round_trip_and_a_wrong_shape_or_name_is_refused()
    {
        var (layer, masks) = Layer();
        using var importance = new GradientImportance(PruningCriterion.Taylor, masks);
        SetStep(layer, W1, G1);
        importance.Observe();
        var saved = importance.SaveState();
        using var restored = new GradientImportance(PruningCriterion.Taylor, masks);
        restored.LoadState(saved);
        Assert.Equal(Scores(importance, masks), Scores(restored, masks));
        Assert.Contains("expected [2,3]", Assert.Throws<ArgumentException>(() => restored.LoadState(new Dictionary<string, Tensor> { ["weight"] = zeros(3) })).Message);
        Assert.Contains("'bias', which is not a masked parameter", Assert.Throws<ArgumentException>(() => restored.LoadState(new Dictionary<string, Tensor> { ["bias"] = zeros(2) })).Message);
    }

    [Theory]
    [InlineData(PruningCriterion.Snip)]
    [InlineData(PruningCriterion.Taylor)]
    [InlineData(PruningCriterion.Movement)]
    public void A_session_prunes_the_lowest_scores_of_its_methods_criterion(PruningCriterion criterion)
    {
        var (layer, _) = Layer();
        using var session = new PruningSession(layer, new MagnitudePruning { CropFraction = 0.5, Criterion = criterion },
            new PruningSessionSettings { Bound = new MetricFloor(0), StepsPerEpoch = 10, Prunable = new LayerSelector { Scope = ParameterScope.Weights } });
        // A tiny learning rate: the weights the second step sees are W2 up to 1e-12.
        using var optimizer = new SgdOptimizer(layer.parameters(), 1e-12);
        session.Attach(optimizer);
        foreach (var (w, g) in new[] { (W1, G1), (W2, G2) })
        {
            SetStep(layer, w, g);
            session.BeforeStep();
            optimizer.Step();
            session.AfterStep();
        }
        Assert.True(session.Evaluate(1.0).Pruned);
        double Score(int i) => criterion switch
        {
            PruningCriterion.Snip => Math.Abs(G2[i] * W2[i]),
            PruningCriterion.Taylor => Math.Abs(G1[i] * W1[i]) + Math.Abs(G2[i] * W2[i]),
            _ => -(G1[i] * W1[i]) - G2[i] * W2[i],
        };
        var expectedPruned = Enumerable.Range(0, 6).OrderBy(Score).Take(3).Order().ToArray();
        var mask = session.Masks.Entries[0].Mask.flatten().data<float>().ToArray();
        Assert.Equal(expectedPruned, Enumerable.Range(0, 6).Where(i => mask[i] == 0).ToArray());
        // Ranking by |w| would have removed other entries: the criterion is what decided.
        var byMagnitude = Enumerable.Range(0, 6).OrderBy(i => Math.Abs(W2[i])).Take(3).Order().ToArray();
        Assert.NotEqual(byMagnitude, expectedPruned);
        Assert.Equal(criterion.ToString().ToLowerInvariant(), session.Method.Describe()["criterion"]!.GetValue<string>());
    }

    [Fact]
    public void Magnitude_is_the_default_and_is_not_named_in_the_settings()
    {
        Assert.Equal(PruningCriterion.Magnitude, new RelevancePruning().Criterion);
        Assert.Null(new RelevancePruning().Describe()["criterion"]);
    }

    [Fact]
    public void A_recipe_names_its_criterion_and_an_unknown_one_is_refused_naming_the_field()
    {
        const string schedule = "\"schedule\": { \"kind\": \"one-shot\", \"target_sparsity\": 0.5 }";
        Assert.Equal(PruningCriterion.Movement, RecipeReader.Parse($"{{ \"criterion\": \"movement\", {schedule} }}", "r.json", ["relevance"]).Criterion);
        Assert.Null(RecipeReader.Parse($"{{ {schedule} }}", "r.json", ["relevance"]).Criterion);
        var e = Assert.Throws<RecipeException>(() => RecipeReader.Parse($"{{ \"criterion\": \"2\", {schedule} }}", "r.json", ["relevance"]));
        Assert.Contains("criterion: unknown criterion '2' (expected one of: magnitude, snip, taylor, movement)", e.Message);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float value) => 0;
    }
}
