using System.Text.Json.Nodes;
using Topiary.Pruning;
using Topiary.Pruning.Schedules;
using Topiary.Regularization;

namespace Topiary.Methods;

/// <summary>
/// LOBSTER (Tartaglione et al., "LOss-Based SensiTivity rEgulaRization", arXiv 2011.09905): shrinkage of the
/// weights whose loss sensitivity is small at a constant strength λ (<see cref="LobsterShrinkage"/>), and pruning by
/// the largest magnitude threshold that keeps the validation loss within (1 + <see cref="Twt"/>) of its plateau
/// (<see cref="LobsterPolicy"/>). Its schedule re-evaluates the model while it bisects, so a session needs a
/// validation function (<c>PruningSessionSettings.Validator</c>). The reference settings train
/// with SGD at lr 0.1 and no momentum.
/// </summary>
public sealed record LobsterPruning : PruningMethod
{
    /// <summary>λ, the constant shrinkage strength (default 1e-4).</summary>
    public double Lambda { get; init; } = 1e-4;

    /// <summary>twt: tolerated relative worsening of the validation loss per threshold, ≥ 0 (default 0.05).</summary>
    public double Twt { get; init; } = 0.05;

    /// <summary>pwe: evaluations of plateau before a threshold is sought, ≥ 0 (default 1).</summary>
    public int Pwe { get; init; } = 1;

    /// <inheritdoc />
    public override string Name => "lobster";

    /// <inheritdoc />
    public override double Strength => Lambda;

    /// <inheritdoc />
    public override void Validate()
    {
        Require(Lambda >= 0 && double.IsFinite(Lambda), nameof(Lambda), $"must be a finite number ≥ 0, got {Lambda}");
        Require(Twt >= 0 && double.IsFinite(Twt), nameof(Twt), $"must be a finite number ≥ 0, got {Twt}");
        Require(Pwe >= 0, nameof(Pwe), $"must be ≥ 0, got {Pwe}");
        base.Validate();
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Key, JsonNode? Value)> Settings() => [("lambda", Number(Lambda)), ("twt", Number(Twt)), ("pwe", Pwe)];

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks) => new LobsterShrinkage();

    /// <inheritdoc />
    protected override PruningPolicy CreateOwnPolicy(PruningPlan plan, GradientRegularizer own) => new LobsterPolicy(Twt, Pwe);
}

/// <summary>
/// HyperSparse (Glandorf et al., arXiv 2308.07163): the HyperSparse penalty over the prunable weights
/// (<see cref="HyperSparsePenalty"/>, prune rate κ = <see cref="TargetSparsity"/>) at a base strength λ0 that the ART
/// schedule multiplies by η = <see cref="Growth"/> per epoch until a copy pruned to κ is as good as the model; then
/// the mask is fixed and the network fine-tunes (<see cref="AdaptiveRegularizationPolicy"/>).
/// </summary>
public sealed record HyperSparsePruning : PruningMethod
{
    /// <summary>λ0, the base strength (default 1e-4).</summary>
    public double Lambda { get; init; } = 1e-4;

    /// <summary>κ, the prune rate, in (0, 1) (default 0.9).</summary>
    public double TargetSparsity { get; init; } = 0.9;

    /// <summary>η &gt; 1, the growth of the strength per check (default 2).</summary>
    public double Growth { get; init; } = 2;

    /// <inheritdoc />
    public override string Name => "hypersparse";

    /// <inheritdoc />
    public override double Strength => Lambda;

    /// <inheritdoc />
    public override void Validate()
    {
        Require(Lambda >= 0 && double.IsFinite(Lambda), nameof(Lambda), $"must be a finite number ≥ 0, got {Lambda}");
        Require(TargetSparsity is > 0 and < 1, nameof(TargetSparsity), $"must lie in (0, 1), got {TargetSparsity}");
        Require(Growth > 1 && double.IsFinite(Growth), nameof(Growth), $"must be a finite number > 1, got {Growth}");
        base.Validate();
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Key, JsonNode? Value)> Settings() =>
        [("lambda", Number(Lambda)), ("target_sparsity", Number(TargetSparsity)), ("growth", Number(Growth))];

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks) => new HyperSparsePenalty(Weights(masks), TargetSparsity);

    /// <inheritdoc />
    protected override PruningPolicy CreateOwnPolicy(PruningPlan plan, GradientRegularizer own) =>
        new AdaptiveRegularizationPolicy((HyperSparsePenalty)own, Growth, plan.StepsPerEpoch, plan.HigherIsBetter);
}

/// <summary>
/// Gradual magnitude pruning (Zhu and Gupta, arXiv 1710.01878): no regularizer; the sparsity rises along the cubic
/// schedule s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³ to <see cref="TargetSparsity"/>, pruning every evaluation
/// interval over the first two thirds of the step budget, then the network fine-tunes
/// (<see cref="GradualMagnitudePolicy"/>).
/// </summary>
public sealed record GradualMagnitudePruning : PruningMethod
{
    /// <summary>s_f, the final sparsity, in (0, 1) (default 0.9).</summary>
    public double TargetSparsity { get; init; } = 0.9;

    /// <inheritdoc />
    public override string Name => "gmp";

    /// <inheritdoc />
    public override void Validate()
    {
        Require(TargetSparsity is > 0 and < 1, nameof(TargetSparsity), $"must lie in (0, 1), got {TargetSparsity}");
        base.Validate();
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Key, JsonNode? Value)> Settings() => [("target_sparsity", Number(TargetSparsity))];

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks) => new NoRegularization();

    /// <inheritdoc />
    protected override PruningPolicy CreateOwnPolicy(PruningPlan plan, GradientRegularizer own)
    {
        var total = plan.TotalSteps ?? throw new PruningMethodException(nameof(PruningPlan), nameof(PruningPlan.TotalSteps),
            "gradual magnitude pruning spreads its pruning steps over two thirds of the step budget, so the budget must be given");
        return new GradualMagnitudePolicy(new PolynomialSparsitySchedule(0, TargetSparsity, 0,
            Math.Max(1, (int)(2 * total / 3 / plan.EvaluationInterval)), plan.EvaluationInterval));
    }
}

/// <summary>
/// N:M semi-structured sparsity (Mishra et al., arXiv 2104.08378; NVIDIA's 2:4 for sparse tensor cores), as ASP
/// runs it: no regularizer; at the first evaluation each weight matrix whose rows are a multiple of M long keeps the N
/// most important of every M consecutive entries of a row, then the network fine-tunes under the fixed mask
/// (<see cref="SemiStructuredPolicy"/>). The sparsity of those tensors is exactly 1 − N/M.
/// </summary>
public sealed record SemiStructuredPruning : PruningMethod
{
    /// <summary>N, entries kept per block (default 2).</summary>
    public int N { get; init; } = 2;

    /// <summary>M, the block length (default 4).</summary>
    public int M { get; init; } = 4;

    /// <inheritdoc />
    public override string Name => "nm";

    /// <inheritdoc />
    public override void Validate()
    {
        Require(N >= 1 && N < M, nameof(N), $"N:M needs 1 ≤ N < M, got {N}:{M}");
        base.Validate();
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Key, JsonNode? Value)> Settings() => [("n", N), ("m", M)];

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks) => new NoRegularization();

    /// <inheritdoc />
    protected override PruningPolicy CreateOwnPolicy(PruningPlan plan, GradientRegularizer own) => new SemiStructuredPolicy(N, M);
}

/// <summary>
/// Neuron and filter pruning (Li et al., ICLR 2017; Ln-structured as <c>torch.nn.utils.prune.ln_structured</c>): no
/// regularizer; at the first evaluation every layer but the output layer loses <see cref="TargetSparsity"/> of its
/// output neurons or filters, those whose weight rows have the smallest Ln norm (<see cref="Norm"/>), with their
/// biases; then the network fine-tunes under the fixed mask (<see cref="StructuredPolicy"/>). The model keeps its
/// shapes until <c>topiary simplify</c> removes the dead neurons and filters.
/// </summary>
public sealed record StructuredPruning : PruningMethod
{
    /// <summary>Fraction of each layer's output neurons or filters removed, in (0, 1) (default 0.5).</summary>
    public double TargetSparsity { get; init; } = 0.5;

    /// <summary>n of the Ln norm that ranks the rows (default 2).</summary>
    public double Norm { get; init; } = 2;

    /// <inheritdoc />
    public override string Name => "structured";

    /// <inheritdoc />
    public override void Validate()
    {
        Require(TargetSparsity is > 0 and < 1, nameof(TargetSparsity), $"must lie in (0, 1), got {TargetSparsity}");
        Require(Norm > 0, nameof(Norm), $"must be > 0, got {Norm}");
        base.Validate();
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Key, JsonNode? Value)> Settings() => [("target_sparsity", Number(TargetSparsity)), ("norm", Number(Norm))];

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks) => new NoRegularization();

    /// <inheritdoc />
    protected override PruningPolicy CreateOwnPolicy(PruningPlan plan, GradientRegularizer own) => new StructuredPolicy(TargetSparsity, Norm);
}

/// <summary>
/// Dynamic sparse training at a constant sparsity: RigL (Evci et al., "Rigging the Lottery", ICML 2020) grows back the
/// pruned connections with the largest |∂L/∂w|, SET (Mocanu et al., Nature Communications 2018) random ones. No
/// regularizer; the model is pruned by global magnitude to <see cref="TargetSparsity"/> after the first step, then
/// every evaluation interval until three quarters of the budget each tensor drops the fraction
/// α/2·(1 + cos(π t/T_end)) of its live weights with the smallest |w| and grows as many back at 0
/// (<see cref="RegrowthPolicy"/>); the last quarter fine-tunes under the fixed mask. Adapted: RigL's ERK layer
/// densities are replaced by the global magnitude cut of the other methods.
/// </summary>
public sealed record DynamicSparsePruning : PruningMethod
{
    /// <summary>The constant sparsity, in (0, 1) (default 0.9).</summary>
    public double TargetSparsity { get; init; } = 0.9;

    /// <summary>α, the drop fraction at the first update (default 0.3, RigL's).</summary>
    public double DropFraction { get; init; } = 0.3;

    /// <summary>Gradient (RigL, the default) or random (SET) regrowth.</summary>
    public Regrowth Regrowth { get; init; } = Regrowth.Gradient;

    /// <inheritdoc />
    public override string Name => Regrowth == Regrowth.Gradient ? "rigl" : "set";

    /// <inheritdoc />
    public override void Validate()
    {
        Require(TargetSparsity is > 0 and < 1, nameof(TargetSparsity), $"must lie in (0, 1), got {TargetSparsity}");
        Require(DropFraction is > 0 and < 1, nameof(DropFraction), $"must lie in (0, 1), got {DropFraction}");
        Require(Enum.IsDefined(Regrowth), nameof(Regrowth), $"unknown regrowth {(int)Regrowth}");
        base.Validate();
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Key, JsonNode? Value)> Settings() =>
        [("target_sparsity", Number(TargetSparsity)), ("drop_fraction", Number(DropFraction))];

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks) => new NoRegularization();

    /// <inheritdoc />
    protected override PruningPolicy CreateOwnPolicy(PruningPlan plan, GradientRegularizer own)
    {
        var total = plan.TotalSteps ?? throw new PruningMethodException(nameof(PruningPlan), nameof(PruningPlan.TotalSteps),
            $"{Name} anneals its drop fraction to 0 at three quarters of the step budget, so the budget must be given");
        return new RegrowthPolicy(TargetSparsity, plan.EvaluationInterval, Math.Max(1, 3 * total / 4), DropFraction, Regrowth);
    }
}

