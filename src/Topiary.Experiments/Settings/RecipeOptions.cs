using Topiary.Pruning.Toolkit;

namespace Topiary.Experiments;

/// <summary>Turns a <see cref="PruningRecipe"/> into run options: the method's defaults, then the recipe's values.</summary>
public static class RecipeOptions
{
    /// <summary>The recipe's values for the method's settings: γ, α, decay, the <c>--reg</c> list, the criterion and its schedule's target sparsity, crop fraction, twt and pwe.</summary>
    public static MethodSettings Settings(PruningRecipe recipe) => new()
    {
        Gamma = recipe.Gamma,
        Alpha = recipe.Alpha,
        GammaDecay = recipe.GammaDecay,
        Regularizers = recipe.Regularizers,
        Criterion = recipe.Criterion,
        TargetSparsity = recipe.Schedule.TargetSparsity,
        CropFraction = recipe.Schedule.CropFraction,
        Twt = recipe.Schedule.Twt,
        Pwe = recipe.Schedule.Pwe,
    };

    /// <summary>
    /// A run of the recipe's method from <paramref name="defaults"/> (<see cref="PruningMethods.Create"/>) with the recipe's
    /// values, and <paramref name="given"/> over them; the method takes the recipe's schedule, limits and ranking, and the
    /// options its selector.
    /// </summary>
    public static PruningOptions Apply(PruningRecipe recipe, PruningDefaults defaults, MethodSettings? given = null)
    {
        var settings = given is null ? Settings(recipe) : given.Over(Settings(recipe));
        var options = defaults.For(recipe.Method, settings);
        return options with
        {
            Method = options.Method with { Schedule = recipe.Schedule, Limits = recipe.Limits, Ranking = recipe.Ranking },
            Selector = recipe.Selector,
        };
    }
}
