using Topiary.Experiments;
using Topiary.Methods;
using Topiary.Cli.Settings;
using Topiary.Pruning;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

public class RecipeFlagTests
{
    private const string Recipe = """
        { "method": "relevance", "schedule": { "kind": "iterative", "crop_fraction": 0.1 }, "select": { "name_pattern": "fc*" } }
        """;

    [Fact]
    public void Method_with_a_recipe_brings_that_methods_defaults_and_keeps_the_recipes_schedule()
    {
        using var dir = new TestDirectory();
        var file = dir.File("r.json");
        File.WriteAllText(file, Recipe);
        var options = new PruneSettings { Method = "lobster", Recipe = file }.Options();
        Assert.IsType<LobsterPruning>(options.Method);
        Assert.Equal(new SgdOptions { LearningRate = 0.1, Momentum = 0 }, options.Optimizer);
        Assert.Equal(0.1, options.Method.Schedule!.CropFraction);
        // Without --scope a recipe's selector takes weights and biases, as a run without a recipe does.
        Assert.Equal(ParameterScope.WeightsAndBiases, options.Selector!.Scope);
        var weightsOnly = new PruneSettings { Scope = "weights", Recipe = file }.Options();
        Assert.Equal(ParameterScope.Weights, weightsOnly.Selector!.Scope);
        Assert.Equal(new AdamOptions { LearningRate = 1e-3 }, new PruneSettings { Recipe = file }.Options().Optimizer);
    }

    [Fact]
    public void The_criterion_comes_from_the_flag_over_the_recipe_for_every_method()
    {
        using var dir = new TestDirectory();
        var file = dir.File("r.json");
        File.WriteAllText(file, Recipe.Replace("\"method\": \"relevance\",", "\"method\": \"relevance\", \"criterion\": \"taylor\","));
        Assert.Equal(PruningCriterion.Taylor, new PruneSettings { Recipe = file }.Options().Method.Criterion);
        Assert.Equal(PruningCriterion.Snip, new PruneSettings { Recipe = file, Criterion = "snip" }.Options().Method.Criterion);
        foreach (var method in PruningMethods.Names)
            Assert.Equal(PruningCriterion.Movement, new PruneSettings { Method = method, Criterion = "movement" }.Options().Method.Criterion);
        Assert.Equal(PruningCriterion.Magnitude, new PruneSettings().Options().Method.Criterion);
    }
}
