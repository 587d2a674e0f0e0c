namespace Topiary.Pruning.Toolkit;

/// <summary>
/// A pruning recipe (in the spirit of SparseML's recipes), read from JSON by <see cref="RecipeReader"/>: which
/// method and regularizer, which schedule, which parameters, and per-layer sparsity limits.
/// </summary>
/// <param name="Method">A method name of <c>topiary prune --method</c> (e.g. <c>relevance</c>, <c>gmp</c>).</param>
/// <param name="Gamma">Regularization strength γ0 (λ for LOBSTER, λ0 for HyperSparse), if given.</param>
/// <param name="Alpha">α of the relevance gate, if given.</param>
/// <param name="GammaDecay">Whether γ decays after each pruning event, if given.</param>
/// <param name="Schedule">When and how much to prune.</param>
/// <param name="Selector">Which parameters are pruned.</param>
/// <param name="Ranking">Global or per-layer ranking for one-shot pruning.</param>
/// <param name="Limits">Per-layer sparsity bounds.</param>
public sealed record PruningRecipe(string Method, double? Gamma, double? Alpha, bool? GammaDecay, RecipeSchedule Schedule,
    LayerSelector Selector, RankingScope Ranking, LayerLimits Limits)
{
    /// <summary>Further regularizers in the syntax of <c>--reg</c> (<c>regularizer.reg</c>, e.g. <c>spectral:1e-3,so:1e-4</c>), if given.</summary>
    public string? Regularizers { get; init; }

    /// <summary>What the schedule ranks by (<c>criterion</c>: magnitude, snip, taylor or movement), if given.</summary>
    public PruningCriterion? Criterion { get; init; }
}

/// <summary>The schedule part of a recipe; only the fields its <see cref="Kind"/> uses are set.</summary>
/// <param name="Kind"><c>one-shot</c>, <c>iterative</c>, <c>polynomial</c> or <c>lobster</c>.</param>
/// <param name="TargetSparsity">Final sparsity (one-shot, polynomial); the fraction of each layer's neurons removed (structured).</param>
/// <param name="CropFraction">Fraction removed per crop (iterative).</param>
/// <param name="InitialSparsity">s_i (polynomial).</param>
/// <param name="StartStep">t0 (polynomial).</param>
/// <param name="PruningSteps">n (polynomial).</param>
/// <param name="Frequency">Δt in steps (polynomial).</param>
/// <param name="Twt">Tolerated loss worsening (lobster).</param>
/// <param name="Pwe">Plateau patience (lobster).</param>
/// <param name="N">Entries kept per block (n-of-m).</param>
/// <param name="M">Block length (n-of-m).</param>
/// <param name="Norm">n of the Ln norm that ranks neurons (structured; default 2).</param>
public sealed record RecipeSchedule(string Kind, double? TargetSparsity = null, double? CropFraction = null, double? InitialSparsity = null,
    long? StartStep = null, int? PruningSteps = null, long? Frequency = null, double? Twt = null, int? Pwe = null, int? N = null, int? M = null,
    double? Norm = null)
{
    /// <summary>The schedule kinds a recipe may name.</summary>
    public static IReadOnlyList<string> Kinds { get; } = new[] { "one-shot", "iterative", "polynomial", "lobster", "n-of-m", "structured" };

    /// <summary>
    /// Builds the <see cref="PruningPolicy"/> this schedule describes; <paramref name="limits"/> bound every
    /// schedule and <paramref name="ranking"/> applies to all but LOBSTER (its threshold is global by definition).
    /// </summary>
    public PruningPolicy CreatePolicy(LayerLimits? limits = null, RankingScope ranking = RankingScope.Global) => Kind switch
    {
        "one-shot" => new Schedules.OneShotPolicy(TargetSparsity!.Value) { Limits = limits, Ranking = ranking },
        "iterative" => new IterativeFractionPolicy(CropFraction!.Value) { Limits = limits, Ranking = ranking },
        "polynomial" => new Schedules.GradualMagnitudePolicy(new Schedules.PolynomialSparsitySchedule(InitialSparsity ?? 0, TargetSparsity!.Value,
            StartStep ?? 0, PruningSteps!.Value, Frequency!.Value)) { Limits = limits, Ranking = ranking },
        "lobster" => new Schedules.LobsterPolicy(Twt ?? 0.05, Pwe ?? 1) { Limits = limits },
        "n-of-m" => new Schedules.SemiStructuredPolicy(N!.Value, M!.Value),
        "structured" => new Schedules.StructuredPolicy(TargetSparsity!.Value, Norm ?? 2),
        _ => throw new InvalidOperationException($"unknown schedule kind '{Kind}'"),
    };
}
