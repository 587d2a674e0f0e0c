using Topiary.Methods;
using Topiary.Regularization;

namespace Topiary.Experiments;

/// <summary>
/// Values for the settings of whichever method a run ends up with, before the method is known: what a command line's
/// flags, a recipe, a preset or a model's defaults say. Each is null unless given. <see cref="ApplyTo"/> writes the given
/// ones into a <see cref="PruningMethod"/>'s own settings (γ becomes LOBSTER's and HyperSparse's λ), and
/// <see cref="NotTakenBy"/> names the ones a method has no place for, so a command line can refuse them.
/// </summary>
public sealed record MethodSettings
{
    /// <summary>γ0 of the iterative methods, λ of <c>lobster</c> and <c>hypersparse</c>.</summary>
    public double? Gamma { get; init; }
    /// <summary>α of <c>relevance</c>.</summary>
    public double? Alpha { get; init; }
    /// <summary><c>relevance</c>: per layer, α = this quantile of the relevance signal (<see cref="RelevancePruning.AlphaQuantile"/>).</summary>
    public double? AlphaQuantile { get; init; }
    /// <summary><c>relevance</c>: what the gate reads (<see cref="RelevancePruning.Signal"/>).</summary>
    public RelevanceSignal? Signal { get; init; }
    /// <summary><c>relevance</c>: coupled or decoupled decay (<see cref="RelevancePruning.Decay"/>).</summary>
    public DecayCoupling? Decay { get; init; }
    /// <summary>Whether γ decays after each crop (iterative methods).</summary>
    public bool? GammaDecay { get; init; }
    /// <summary>t, the fraction removed per crop (iterative methods).</summary>
    public double? CropFraction { get; init; }
    /// <summary>Target sparsity of <c>gmp</c> (s_f) and <c>hypersparse</c> (κ); the fraction of neurons <c>structured</c> removes per layer.</summary>
    public double? TargetSparsity { get; init; }
    /// <summary>LOBSTER's twt.</summary>
    public double? Twt { get; init; }
    /// <summary>LOBSTER's pwe.</summary>
    public int? Pwe { get; init; }
    /// <summary>HyperSparse's growth factor η.</summary>
    public double? Growth { get; init; }
    /// <summary>Lottery-ticket rewinding of the iterative methods: the step k the weights go back to after each crop.</summary>
    public long? RewindStep { get; init; }
    /// <summary>
    /// The prunable sparsity in (0, 1) at which the iterative methods stop cropping (<see cref="IterativeCropPruning.MaxSparsity"/>),
    /// or <see cref="NoMaxSparsity"/>: no stop, over a lower layer's value.
    /// </summary>
    public double? MaxSparsity { get; init; }

    /// <summary>The <see cref="MaxSparsity"/> that asks for no stop (the paper's rule) where defaults would set one.</summary>
    public const double NoMaxSparsity = 1;
    /// <summary>N and M of <c>nm</c>: keep N of every M consecutive weights of a row.</summary>
    public (int N, int M)? Pattern { get; init; }
    /// <summary>What every method's schedule ranks by when it prunes (<see cref="PruningMethod.Criterion"/>).</summary>
    public Topiary.Pruning.PruningCriterion? Criterion { get; init; }
    /// <summary>Further regularizers at constant strengths, as a <c>--reg</c> list (<see cref="ExtraRegularizer.Parse"/>).</summary>
    public string? Regularizers { get; init; }

    /// <summary>The method's strength tuned on validation data while it prunes (<see cref="PruningMethod.Tuning"/>).</summary>
    public Topiary.Tuning.StrengthTuning? Tuning { get; init; }

    /// <summary>These values, with <paramref name="lower"/>'s where these give none.</summary>
    public MethodSettings Over(MethodSettings lower) => new()
    {
        Gamma = Gamma ?? lower.Gamma,
        Alpha = Alpha ?? lower.Alpha,
        AlphaQuantile = AlphaQuantile ?? lower.AlphaQuantile,
        Signal = Signal ?? lower.Signal,
        Decay = Decay ?? lower.Decay,
        GammaDecay = GammaDecay ?? lower.GammaDecay,
        CropFraction = CropFraction ?? lower.CropFraction,
        TargetSparsity = TargetSparsity ?? lower.TargetSparsity,
        Twt = Twt ?? lower.Twt,
        Pwe = Pwe ?? lower.Pwe,
        Growth = Growth ?? lower.Growth,
        Criterion = Criterion ?? lower.Criterion,
        Pattern = Pattern ?? lower.Pattern,
        RewindStep = RewindStep ?? lower.RewindStep,
        MaxSparsity = MaxSparsity ?? lower.MaxSparsity,
        Regularizers = Regularizers ?? lower.Regularizers,
        Tuning = Tuning ?? lower.Tuning,
    };

    /// <summary><paramref name="method"/> with every given value it has a place for; the others are left out.</summary>
    /// <exception cref="PruningOptionException"><see cref="Regularizers"/> does not parse.</exception>
    public PruningMethod ApplyTo(PruningMethod method)
    {
        method = method switch
        {
            RelevancePruning r => r with
            {
                Alpha = Alpha ?? r.Alpha, AlphaQuantile = AlphaQuantile ?? r.AlphaQuantile, Signal = Signal ?? r.Signal, Decay = Decay ?? r.Decay,
                Gamma = Gamma ?? r.Gamma, GammaDecay = GammaDecay ?? r.GammaDecay, CropFraction = CropFraction ?? r.CropFraction, RewindStep = RewindStep ?? r.RewindStep,
                MaxSparsity = MaxSparsityOver(r.MaxSparsity),
            },
            IterativeCropPruning i => i with { Gamma = Gamma ?? i.Gamma, GammaDecay = GammaDecay ?? i.GammaDecay, CropFraction = CropFraction ?? i.CropFraction, RewindStep = RewindStep ?? i.RewindStep,
                MaxSparsity = MaxSparsityOver(i.MaxSparsity) },
            LobsterPruning l => l with { Lambda = Gamma ?? l.Lambda, Twt = Twt ?? l.Twt, Pwe = Pwe ?? l.Pwe },
            HyperSparsePruning h => h with { Lambda = Gamma ?? h.Lambda, TargetSparsity = TargetSparsity ?? h.TargetSparsity, Growth = Growth ?? h.Growth },
            GradualMagnitudePruning g => g with { TargetSparsity = TargetSparsity ?? g.TargetSparsity },
            SemiStructuredPruning nm => Pattern is { } p ? nm with { N = p.N, M = p.M } : nm,
            StructuredPruning st => st with { TargetSparsity = TargetSparsity ?? st.TargetSparsity },
            DynamicSparsePruning ds => ds with { TargetSparsity = TargetSparsity ?? ds.TargetSparsity },
            _ => method,
        };
        if (Criterion is { } criterion) method = method with { Criterion = criterion };
        if (Tuning is { } tuning && TakesTuning(method)) method = method with { Tuning = tuning };
        if (Regularizers is null) return method;
        try
        {
            return method with { Extra = ExtraRegularizer.Parse(Regularizers) };
        }
        catch (FormatException e)
        {
            throw new PruningOptionException(nameof(Regularizers), e.Message);
        }
    }

    /// <summary>The given values <paramref name="method"/> has no place for, by property name (empty when all apply).</summary>
    public IReadOnlyList<string> NotTakenBy(PruningMethod method)
    {
        var (iterative, relevance) = (method is IterativeCropPruning, method is RelevancePruning);
        var (lobster, hyperSparse, gmp, nm) = (method is LobsterPruning, method is HyperSparsePruning, method is GradualMagnitudePruning, method is SemiStructuredPruning);
        var structured = method is StructuredPruning or DynamicSparsePruning;
        var misplaced = new List<string>();
        void Check(bool given, bool taken, string name)
        {
            if (given && !taken) misplaced.Add(name);
        }
        Check(Gamma is not null, iterative || lobster || hyperSparse, nameof(Gamma));
        Check(Alpha is not null || AlphaQuantile is not null, relevance, nameof(Alpha));
        Check(Signal is not null, relevance, nameof(Signal));
        Check(Decay is not null, relevance, nameof(Decay));
        Check(GammaDecay is not null, iterative, nameof(GammaDecay));
        Check(CropFraction is not null, iterative, nameof(CropFraction));
        Check(RewindStep is not null, iterative, nameof(RewindStep));
        Check(MaxSparsity is not null, iterative, nameof(MaxSparsity));
        Check(TargetSparsity is not null, gmp || hyperSparse || structured, nameof(TargetSparsity));
        Check(Twt is not null, lobster, nameof(Twt));
        Check(Pwe is not null, lobster, nameof(Pwe));
        Check(Growth is not null, hyperSparse, nameof(Growth));
        Check(Pattern is not null, nm, nameof(Pattern));
        Check(Tuning is not null, TakesTuning(method), nameof(Tuning));
        return misplaced;
    }

    private double? MaxSparsityOver(double? method) => MaxSparsity is NoMaxSparsity ? null : MaxSparsity ?? method;

    // A strength can be tuned where the method trains with a regularizer that has one: the iterative methods but `none`
    // (magnitude alone), and LOBSTER's and HyperSparse's λ (which the tuner itself may still refuse as not smooth).
    private bool TakesTuning(PruningMethod method) =>
        (method is IterativeCropPruning and not MagnitudePruning or LobsterPruning or HyperSparsePruning) && (Gamma ?? method.Strength) > 0;
}
