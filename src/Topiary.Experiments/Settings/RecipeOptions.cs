using Topiary.Pruning.Toolkit;

namespace Topiary.Experiments;

/// <summary>Turns a <see cref="PruningRecipe"/> into run settings: the method's defaults, then the recipe's values.</summary>
public static class RecipeOptions
{
    /// <summary>
    /// <paramref name="baseline"/> with the recipe's method defaults (<see cref="PruningMethods.Defaults"/>), its
    /// regularizer values (γ, α, decay and the <c>--reg</c> list) and its schedule's target sparsity, crop fraction, twt and pwe; the recipe itself is kept
    /// in <see cref="PruningOptions.Recipe"/> so the loop uses its selector, schedule and limits.
    /// </summary>
    public static PruningOptions Apply(PruningRecipe recipe, PruningOptions baseline)
    {
        var o = PruningMethods.Defaults(recipe.Method, baseline);
        var s = recipe.Schedule;
        return o with
        {
            Gamma = recipe.Gamma ?? o.Gamma,
            Alpha = recipe.Alpha ?? o.Alpha,
            GammaDecay = recipe.GammaDecay ?? o.GammaDecay,
            Regularizers = recipe.Regularizers ?? o.Regularizers,
            TargetSparsity = s.TargetSparsity ?? o.TargetSparsity,
            CropFraction = s.CropFraction ?? o.CropFraction,
            Twt = s.Twt ?? o.Twt,
            Pwe = s.Pwe ?? o.Pwe,
            Recipe = recipe,
        };
    }
}
