using System.Text.Json.Nodes;
using TorchSharp.Modules;
using Topiary.Optimization;

namespace Topiary.Experiments;

/// <summary>
/// The optimizer of an experiment, as a type with only the settings it takes: <see cref="AdamOptions"/>,
/// <see cref="SgdOptions"/>, <see cref="MuonOptions"/>, <see cref="SteepestOptions"/>, <see cref="ScionOptions"/>, <see cref="FiraOptions"/>
/// or <see cref="EgnOptions"/>. A value: <see cref="Create"/>
/// builds a fresh optimizer for each training.
/// </summary>
public abstract record OptimizerOptions
{
    /// <summary>The names <see cref="Named"/> accepts, as the command line spells them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["adam", "sgd", "muon", "steepest", "scion", "scion-constrained", "scion-na", "adam-spectral", "fira", "egn"];

    /// <summary>Learning rate η, a finite number &gt; 0 (default 1e-3).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>The optimizer's name in reports and on the command line.</summary>
    public abstract string Name { get; }

    /// <summary>A fresh optimizer over <paramref name="parameters"/>.</summary>
    public abstract MaskableOptimizer Create(IEnumerable<Parameter> parameters);

    /// <summary>
    /// The optimizer called <paramref name="name"/> at <paramref name="learningRate"/>, with <paramref name="momentum"/>
    /// where it takes one (SGD, Muon, Scion, EGN; null: 0.9).
    /// </summary>
    /// <exception cref="PruningOptionException">No optimizer has that name.</exception>
    public static OptimizerOptions Named(string name, double learningRate, double? momentum = null) => name switch
    {
        "adam" => new AdamOptions { LearningRate = learningRate },
        "adam-spectral" => new AdamOptions { LearningRate = learningRate, SpectralUpdates = true },
        "sgd" => new SgdOptions { LearningRate = learningRate, Momentum = momentum ?? SgdOptions.DefaultMomentum },
        "muon" => new MuonOptions { LearningRate = learningRate, Momentum = momentum ?? SgdOptions.DefaultMomentum },
        "steepest" => new SteepestOptions { LearningRate = learningRate },
        "fira" => new FiraOptions { LearningRate = learningRate },
        "scion" or "scion-constrained" or "scion-na" => new ScionOptions
        {
            LearningRate = learningRate, Momentum = momentum ?? SgdOptions.DefaultMomentum,
            Constrained = name == "scion-constrained", NoiseAdaptive = name == "scion-na",
        },
        "egn" => new EgnOptions { LearningRate = learningRate, Momentum = momentum ?? SgdOptions.DefaultMomentum },
        _ => throw new PruningOptionException(nameof(PruningOptions.Optimizer), $"unknown optimizer '{name}' (expected one of: {string.Join(", ", Names)})"),
    };

    /// <summary>The momentum, for the optimizers that take one; null for the others.</summary>
    public virtual double? MomentumOrNull => null;

    /// <summary>Checks every setting.</summary>
    /// <exception cref="PruningOptionException">A value is out of range; the property names it.</exception>
    public virtual void Validate()
    {
        if (!(LearningRate > 0 && double.IsFinite(LearningRate)))
            throw new PruningOptionException(nameof(LearningRate), $"must be a finite number > 0, got {LearningRate}");
    }

    /// <summary>The settings as JSON, in a fixed order: what reports record and what a resumed run must match.</summary>
    public JsonObject Describe()
    {
        var settings = new JsonObject { ["name"] = Name, ["lr"] = LearningRate };
        if (MomentumOrNull is { } momentum) settings["momentum"] = momentum;
        DescribeOwnSettings(settings);
        return settings;
    }

    /// <summary>Adds the settings an optimizer has beyond its rate and momentum, so that a resumed run must match them too.</summary>
    protected virtual void DescribeOwnSettings(JsonObject settings)
    {
    }
}

/// <summary>
/// Adam (Kingma and Ba) with β = (0.9, 0.999), ε = 1e-8 (<see cref="AdamOptimizer"/>); <c>adam-spectral</c> rescales each
/// tensor's step to spectral norm η·√(fan_out/fan_in) (seed paper #47).
/// </summary>
public sealed record AdamOptions : OptimizerOptions
{
    /// <summary>Whether each tensor's step is spectrally normalized (<see cref="AdamOptimizer.SpectralUpdates"/>).</summary>
    public bool SpectralUpdates { get; init; }

    /// <inheritdoc />
    public override string Name => SpectralUpdates ? "adam-spectral" : "adam";

    /// <inheritdoc />
    public override MaskableOptimizer Create(IEnumerable<Parameter> parameters) => new AdamOptimizer(parameters, LearningRate, spectralUpdates: SpectralUpdates);
}

/// <summary>The optimizers with a momentum β in [0, 1): SGD, Muon, Scion and EGN.</summary>
public abstract record MomentumOptimizerOptions : OptimizerOptions
{
    /// <summary>The momentum when none is given.</summary>
    public const double DefaultMomentum = 0.9;

    /// <summary>Momentum in [0, 1) (default 0.9).</summary>
    public double Momentum { get; init; } = DefaultMomentum;

    /// <inheritdoc />
    public override double? MomentumOrNull => Momentum;

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (!(Momentum >= 0 && Momentum < 1))
            throw new PruningOptionException(nameof(Momentum), $"must lie in [0, 1), got {Momentum}");
    }
}

/// <summary>SGD with heavy-ball momentum μ (<see cref="SgdOptimizer"/>).</summary>
public sealed record SgdOptions : MomentumOptimizerOptions
{
    /// <inheritdoc />
    public override string Name => "sgd";

    /// <inheritdoc />
    public override MaskableOptimizer Create(IEnumerable<Parameter> parameters) => new SgdOptimizer(parameters, LearningRate, Momentum);
}

/// <summary>Muon (Jordan et al.): momentum β, orthogonalized updates of matrices (<see cref="MuonOptimizer"/>).</summary>
public sealed record MuonOptions : MomentumOptimizerOptions
{
    /// <inheritdoc />
    public override string Name => "muon";

    /// <inheritdoc />
    public override MaskableOptimizer Create(IEnumerable<Parameter> parameters) => new MuonOptimizer(parameters, LearningRate, momentum: Momentum);
}

/// <summary>Steepest descent under per-tensor norms (<see cref="SteepestDescentOptimizer"/>).</summary>
public sealed record SteepestOptions : OptimizerOptions
{
    /// <inheritdoc />
    public override string Name => "steepest";

    /// <inheritdoc />
    public override MaskableOptimizer Create(IEnumerable<Parameter> parameters) => new SteepestDescentOptimizer(parameters, LearningRate);
}

/// <summary>
/// Scion (<see cref="ScionOptimizer"/>): the averaged gradient d ← β·d + (1 − β)·g, so the paper's α is 1 − β, and
/// steps along each layer's norm-ball oracle; unconstrained (uSCG, <c>scion</c>) or constrained (SCG,
/// <c>scion-constrained</c>, which needs η ≤ 1), or unconstrained with noise-adaptive layer-wise rates (<c>scion-na</c>,
/// <see cref="NoiseAdaptiveScionOptimizer"/>, β₂ = 0.99).
/// </summary>
public sealed record ScionOptions : MomentumOptimizerOptions
{
    /// <summary>Whether the iterate stays in the norm ball (SCG).</summary>
    public bool Constrained { get; init; }

    /// <summary>Whether each tensor's rate adapts to its gradient noise (seed paper #67).</summary>
    public bool NoiseAdaptive { get; init; }

    /// <inheritdoc />
    public override string Name => (Constrained, NoiseAdaptive) switch
    {
        (true, false) => "scion-constrained",
        (false, true) => "scion-na",
        (false, false) => "scion",
        _ => "scion-constrained-na",
    };

    /// <inheritdoc />
    public override MaskableOptimizer Create(IEnumerable<Parameter> parameters) => NoiseAdaptive
        ? new NoiseAdaptiveScionOptimizer(parameters, LearningRate, averaging: 1 - Momentum, constrained: Constrained)
        : new ScionOptimizer(parameters, LearningRate, averaging: 1 - Momentum, constrained: Constrained);

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Constrained && LearningRate > 1)
            throw new PruningOptionException(nameof(LearningRate), $"{Name} needs a learning rate ≤ 1, got {LearningRate}");
    }
}

/// <summary>
/// Fira (seed paper #82, <see cref="FiraOptimizer"/>): Adam in a rank-r gradient subspace recomputed every T steps,
/// plus the rest of the gradient scaled like Adam's step and held to norm growth γ per step.
/// </summary>
public sealed record FiraOptions : OptimizerOptions
{
    /// <summary>Rank r ≥ 1 of the subspace (default 32).</summary>
    public int Rank { get; init; } = FiraOptimizer.DefaultRank;

    /// <summary>Steps T ≥ 1 between recomputations of the subspace (default 200, the paper's).</summary>
    public int UpdateInterval { get; init; } = FiraOptimizer.DefaultUpdateInterval;

    /// <summary>The norm-growth limit γ ≥ 1 (default 1.01, the paper's), or null for none.</summary>
    public double? GrowthLimit { get; init; } = NormGrowthLimiter.PaperGrowth;

    /// <inheritdoc />
    public override string Name => "fira";

    /// <inheritdoc />
    public override MaskableOptimizer Create(IEnumerable<Parameter> parameters) =>
        new FiraOptimizer(parameters, LearningRate, Rank, UpdateInterval, GrowthLimit);

    /// <inheritdoc />
    protected override void DescribeOwnSettings(JsonObject settings)
    {
        settings["rank"] = Rank;
        settings["update_interval"] = UpdateInterval;
        settings["growth_limit"] = GrowthLimit is { } growth ? JsonValue.Create(growth) : "none";
    }

    /// <inheritdoc />
    public override void Validate()
    {
        base.Validate();
        if (Rank < 1) throw new PruningOptionException(nameof(Rank), $"must be ≥ 1, got {Rank}");
        if (UpdateInterval < 1) throw new PruningOptionException(nameof(UpdateInterval), $"must be ≥ 1, got {UpdateInterval}");
        if (GrowthLimit is { } growth && !(growth >= 1 && double.IsFinite(growth)))
            throw new PruningOptionException(nameof(GrowthLimit), $"must be a finite number ≥ 1, got {growth}");
    }
}

/// <summary>
/// Exact Gauss–Newton (<see cref="ExactGaussNewtonOptimizer"/>, seed paper #87) with its defaults: λ₀ = 1, adaptive;
/// curvature from the first 16 examples of each batch; Armijo line search with η the largest step (use η = 1, the full
/// Gauss–Newton step); momentum β (default 0.9).
/// </summary>
public sealed record EgnOptions : MomentumOptimizerOptions
{
    /// <inheritdoc />
    public override string Name => "egn";

    /// <inheritdoc />
    public override MaskableOptimizer Create(IEnumerable<Parameter> parameters) => new ExactGaussNewtonOptimizer(parameters, LearningRate, momentum: Momentum);
}

