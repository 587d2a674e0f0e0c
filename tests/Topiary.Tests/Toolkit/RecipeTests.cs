using Topiary.Pruning;
using Topiary.Methods;
using Topiary.Pruning.Schedules;
using Topiary.Pruning.Toolkit;
using Topiary.Regularization;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Tests.Toolkit;

public class RecipeTests
{
    private static readonly string[] Methods = { "relevance", "l2", "l1", "none", "lobster", "hypersparse", "gmp" };

    [Fact]
    public void A_full_recipe_is_read_into_typed_settings()
    {
        var recipe = RecipeReader.Parse("""
            { "method": "gmp",
              "regularizer": { "gamma": 0, "decay": false },
              "schedule": { "kind": "polynomial", "target_sparsity": 0.9, "pruning_steps": 10, "frequency": 100 },
              "select": { "module_types": ["Linear"], "name_pattern": "fc*", "scope": "all" },
              "ranking": "per-layer",
              "limits": { "default": { "max": 0.98 }, "layers": { "fc3.*": { "min": 0.1, "max": 0.5 } } } }
            """, "r.json", Methods);
        Assert.Equal("gmp", recipe.Method);
        Assert.Equal(RankingScope.PerLayer, recipe.Ranking);
        Assert.Equal(0.5, recipe.Limits.For("fc3.weight").Max);
        Assert.Equal(0.98, recipe.Limits.For("fc1.weight").Max);
        var policy = Assert.IsType<GradualMagnitudePolicy>(recipe.Schedule.CreatePolicy(recipe.Limits));
        Assert.Equal(1000, policy.Schedule.EndStep);
    }

    [Theory]
    [InlineData("""{ "schedule": { "kind": "polynomial", "target_sparsity": 1.5, "pruning_steps": 3, "frequency": 1 } }""", "r.json: schedule.target_sparsity: must lie in (0, 1), got 1.5")]
    [InlineData("""{ "schedule": { "kind": "cosine" } }""", "r.json: schedule.kind: unknown schedule 'cosine'")]
    [InlineData("""{ "schedule": { "kind": "iterative" } }""", "r.json: schedule.crop_fraction: is required")]
    [InlineData("""{ "schedule": { "kind": "one-shot", "target_sparsity": 0.5 }, "selekt": {} }""", "r.json: selekt: unknown field")]
    [InlineData("""{ "method": "magic", "schedule": { "kind": "one-shot", "target_sparsity": 0.5 } }""", "r.json: method: unknown method 'magic'")]
    [InlineData("""{ "schedule": { "kind": "one-shot", "target_sparsity": 0.5 }, "limits": { "layers": { "fc1*": { "min": 0.9, "max": 0.2 } } } }""", "r.json: limits.layers.fc1*.min: must not exceed max")]
    [InlineData("""{ "schedule": { "kind": "one-shot", "target_sparsity": "0.5" } }""", "r.json: schedule.target_sparsity: must be a number")]
    [InlineData("""{ "schedule": """, "r.json: (json): not valid JSON")]
    [InlineData("""{ "regularizer": { "reg": "spectral:-1" }, "schedule": { "kind": "iterative", "crop_fraction": 0.1 } }""", "r.json: regularizer.reg: strength of 'spectral' must be a finite number ≥ 0, got '-1'")]
    [InlineData("""{ "regularizer": { "reg": "spectrall" }, "schedule": { "kind": "iterative", "crop_fraction": 0.1 } }""", "r.json: regularizer.reg: unknown regularizer 'spectrall'")]
    [InlineData("""{ "regularizer": { "reg": "gor:1e-4:crosss=1" }, "schedule": { "kind": "iterative", "crop_fraction": 0.1 } }""", "r.json: regularizer.reg: unknown parameter 'crosss' of 'gor'")]
    [InlineData("""{ "regularizer": { "reg": ["so"] }, "schedule": { "kind": "iterative", "crop_fraction": 0.1 } }""", "r.json: regularizer.reg: must be a string")]
    public void A_malformed_recipe_gives_a_one_line_error_naming_the_field(string json, string expected)
    {
        var e = Assert.Throws<RecipeException>(() => RecipeReader.Parse(json, "r.json", Methods));
        Assert.StartsWith(expected, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void A_recipes_reg_list_yields_the_same_composite_as_the_reg_flag()
    {
        const string spec = "spectral:1e-3,gor:2e-4:groups=2:cross=0.5,scad:1e-2:fista";
        var recipe = RecipeReader.Parse($$"""
            { "method": "relevance", "regularizer": { "reg": "{{spec}}" }, "schedule": { "kind": "iterative", "crop_fraction": 0.1 } }
            """, "r.json", Methods);
        var fromRecipe = RecipeOptions.Apply(recipe, PruningDefaults.Demo).Method;
        var fromFlag = PruningDefaults.Demo.For("relevance", new MethodSettings { Regularizers = spec }).Method;
        Assert.Equal(Describe(Regularizer(fromFlag)), Describe(Regularizer(fromRecipe)));
        Assert.Equal(["relevance", "spectral", "gor", "scad"], ((CompositeRegularizer)Regularizer(fromRecipe)).Terms.Select(t => t.Regularizer.Name));
        // The recipe's list replaces the defaults'; a recipe without one keeps them; the flags' list wins over both.
        var withSo = PruningDefaults.Demo with { Method = PruningDefaults.Demo.Method with { Regularizers = "so" } };
        Assert.Equal(spec, Extra(RecipeOptions.Apply(recipe, withSo)));
        Assert.Equal("so", Extra(RecipeOptions.Apply(recipe with { Regularizers = null }, withSo)));
        Assert.Equal("l2:0.1", Extra(RecipeOptions.Apply(recipe, withSo, new MethodSettings { Regularizers = "l2:0.1" })));
    }

    private static string Extra(PruningOptions options) => string.Join(",", options.Method.Extra.Select(e => e.ToString()));

    // The regularizer a session of the method trains with (its own and the extra terms), on a small model's masks.
    private static GradientRegularizer Regularizer(PruningMethod method)
    {
        using var model = new Topiary.Models.LeNet300();
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
        return method.Build(masks, new PruningPlan(10, 100, 5, HigherIsBetter: true)).Regularizer;
    }

    // Each term's type, strength, schedule flag and settings, as text.
    private static string Describe(GradientRegularizer regularizer) => string.Join("; ", ((CompositeRegularizer)regularizer).Terms.Select(t =>
        $"{t.Regularizer.GetType().Name} {t.Strength} {t.FollowsSchedule} " + t.Regularizer switch
        {
            GroupOrthogonality g => $"G={g.Groups} β={g.CrossWeight}",
            ScadPenalty p => $"a={p.A} fista={p.Accelerated}",
            _ => "",
        }));
}
