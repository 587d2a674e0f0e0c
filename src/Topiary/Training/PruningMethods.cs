using Topiary.Methods;

namespace Topiary.Training;

/// <summary>
/// The bridge from the command line's flat <see cref="PruningOptions"/> to the method types: the method named by
/// <see cref="PruningOptions.Method"/> (<see cref="PruningMethodRegistry"/>) with the settings that apply to it, the
/// <c>--reg</c> terms, and a recipe's schedule, limits and ranking.
/// </summary>
public static class PruningMethods
{
    /// <summary>Every accepted method name.</summary>
    public static IReadOnlyList<string> Names => PruningMethodRegistry.Names;

    /// <summary>The competing methods, beyond the regularizer catalogue.</summary>
    public static IReadOnlyList<string> Competing => PruningMethodRegistry.Competing;

    /// <summary>
    /// The settings a method starts from on the command line when the user does not override them: LOBSTER's reference
    /// defaults (SGD, lr 0.1, no momentum, constant λ = 1e-4); HyperSparse with a constant base strength λ0 that ART
    /// multiplies, and a patience long enough for ART to finish; the others unchanged.
    /// </summary>
    public static PruningOptions Defaults(string method, PruningOptions baseline) => method switch
    {
        "lobster" => baseline with { Method = method, Optimizer = "sgd", LearningRate = 0.1, Momentum = 0, Gamma = 1e-4, GammaDecay = false },
        "hypersparse" => baseline with { Method = method, Gamma = 1e-4, GammaDecay = false, Patience = 1000 },
        "gmp" => baseline with { Method = method, Gamma = 0, GammaDecay = false },
        _ => baseline with { Method = method },
    };

    /// <summary>The method <paramref name="options"/> describe, as a type.</summary>
    /// <exception cref="ArgumentException">The method name is unknown, or the <c>--reg</c> list does not parse.</exception>
    public static PruningMethod FromOptions(PruningOptions options)
    {
        var method = PruningMethodRegistry.Create(options.Method) switch
        {
            RelevancePruning r => r with { Gamma = options.Gamma, Alpha = options.Alpha, GammaDecay = options.GammaDecay, CropFraction = options.CropFraction },
            MagnitudePruning m => m with { CropFraction = options.CropFraction },
            IterativeCropPruning i => i with { Gamma = options.Gamma, GammaDecay = options.GammaDecay, CropFraction = options.CropFraction },
            LobsterPruning l => l with { Lambda = options.Gamma, Twt = options.Twt, Pwe = options.Pwe },
            HyperSparsePruning h => h with { Lambda = options.Gamma, TargetSparsity = options.TargetSparsity, Growth = options.Growth },
            GradualMagnitudePruning g => g with { TargetSparsity = options.TargetSparsity },
            var other => other,
        };
        if (options.Regularizers is { } spec) method = method with { Extra = ExtraRegularizer.Parse(spec) };
        if (options.Recipe is { } recipe) method = method with { Schedule = recipe.Schedule, Limits = recipe.Limits, Ranking = recipe.Ranking };
        return method;
    }
}
