using System.Text.Json.Nodes;
using Topiary.Pruning;
using Topiary.Regularization;

namespace Topiary.Methods;

/// <summary>
/// The methods of Bonetta et al.'s harness: a weight decay whose strength γ restarts at γ0 after every pruning
/// event and falls linearly to 0 over one epoch, and the iterative rule that removes the fraction
/// <see cref="CropFraction"/> of the remaining weights with the smallest |w|, ranked globally, whenever the
/// validation metric beats the bound (<see cref="IterativeFractionPolicy"/>).
/// </summary>
public abstract record IterativeCropPruning : PruningMethod
{
    /// <summary>γ0 (default 1e-3).</summary>
    public double Gamma { get; init; } = 1e-3;

    /// <summary>Whether γ decays after each pruning event (default true; false keeps it at γ0).</summary>
    public bool GammaDecay { get; init; } = true;

    /// <summary>t: fraction of the remaining prunable parameters removed per crop, in (0, 1) (default 0.08).</summary>
    public double CropFraction { get; init; } = 0.08;

    /// <summary>
    /// Lottery-ticket rewinding (Frankle and Carbin, ICLR 2019; Frankle et al., ICML 2020): after each crop the weights
    /// that remain go back to their values at step k of the pruning run (0: its start, the original lottery ticket) and
    /// the optimizer's state is cleared; null (the default) keeps the trained weights, as the paper's method does.
    /// </summary>
    public long? RewindStep { get; init; }

    /// <summary>
    /// When set, s in (0, 1): the crops stop once the prunable sparsity reaches s (the last crop clipped to land on it),
    /// and the rest of the budget fine-tunes under that mask; null (the default, the paper's rule) crops for as long as
    /// the metric beats the bound. See <see cref="IterativeFractionPolicy.MaxSparsity"/>.
    /// </summary>
    public double? MaxSparsity { get; init; }

    /// <inheritdoc />
    public override double Strength => Gamma;

    /// <inheritdoc />
    public override bool StrengthDecays => GammaDecay;

    /// <inheritdoc />
    public override void Validate()
    {
        Require(Gamma >= 0 && double.IsFinite(Gamma), nameof(Gamma), $"must be a finite number ≥ 0, got {Gamma}");
        Require(CropFraction is > 0 and < 1, nameof(CropFraction), $"must lie in (0, 1), got {CropFraction}");
        Require(RewindStep is null or >= 0, nameof(RewindStep), $"must be ≥ 0, got {RewindStep}");
        Require(MaxSparsity is null or (> 0 and < 1), nameof(MaxSparsity), $"must lie in (0, 1), got {MaxSparsity}");
        base.Validate();
    }

    /// <inheritdoc />
    protected override IEnumerable<(string Key, JsonNode? Value)> Settings()
    {
        // The rewind step and the maximum sparsity are named only when set, so that runs without them are described as before.
        IEnumerable<(string Key, JsonNode? Value)> settings = [("gamma", Number(Gamma)), ("gamma_decay", GammaDecay), ("crop_fraction", Number(CropFraction))];
        if (RewindStep is { } k) settings = settings.Append(("rewind_step", k));
        if (MaxSparsity is { } s) settings = settings.Append(("max_sparsity", Number(s)));
        return settings;
    }

    /// <inheritdoc />
    protected override PruningPolicy CreateOwnPolicy(PruningPlan plan, GradientRegularizer own) =>
        new IterativeFractionPolicy(CropFraction) { MaxSparsity = MaxSparsity };
}

/// <summary>
/// The flagship: "Regularization-based Pruning of Irrelevant Weights in Deep Neural Architectures" (Bonetta,
/// Ribero, Cancelliere; arXiv 2204.04977). R = γ·Σ exp(−|∂L/∂w|/α)·w² with the loss gradient held constant
/// (<see cref="RelevanceWeightDecay"/>), so weights the loss does not depend on decay like plain L2 and relevant
/// ones hardly at all, with the iterative crop of <see cref="IterativeCropPruning"/>. The defaults are the authors';
/// <see cref="AlphaQuantile"/>, <see cref="Signal"/> and <see cref="Decay"/> calibrate the gate (<see cref="RelevanceGate"/>).
/// </summary>
public sealed record RelevancePruning : IterativeCropPruning
{
    /// <summary>α, the scale of the relevance gate exp(−|g|/α), &gt; 0 (default 1, the authors' value); not used when <see cref="AlphaQuantile"/> is set.</summary>
    public double Alpha { get; init; } = RelevanceGate.Paper.Alpha;

    /// <summary>
    /// When set, q in (0, 1]: α per layer is the q-quantile of that layer's signal over its unpruned weights, tracked by an
    /// exponential moving average (<see cref="AlphaSmoothing"/>), so that the gate of that quantile is 1/e (<c>--alpha auto:q</c>).
    /// Null (the default) keeps the fixed <see cref="Alpha"/>. See <see cref="RelevanceGate.AlphaQuantile"/>.
    /// </summary>
    public double? AlphaQuantile { get; init; }

    /// <summary>ρ in [0, 1) of the moving average of the per-layer α (default 0.99); see <see cref="RelevanceGate.AlphaSmoothing"/>.</summary>
    public double AlphaSmoothing { get; init; } = RelevanceGate.DefaultAlphaSmoothing;

    /// <summary>What the gate reads: the minibatch |g| (default, the paper's) or its running average.</summary>
    public RelevanceSignal Signal { get; init; } = RelevanceGate.Paper.Signal;

    /// <summary>β in [0, 1) of the running average of |g| (default 0.9); see <see cref="RelevanceGate.SignalDecay"/>.</summary>
    public double SignalDecay { get; init; } = RelevanceGate.DefaultSignalDecay;

    /// <summary>Coupled decay through the optimizer (default, the paper's) or decoupled after its step, as AdamW.</summary>
    public DecayCoupling Decay { get; init; } = RelevanceGate.Paper.Decay;

    /// <summary>The gate these settings describe.</summary>
    public RelevanceGate Gate => new()
    {
        Alpha = Alpha, AlphaQuantile = AlphaQuantile, AlphaSmoothing = AlphaSmoothing, Signal = Signal, SignalDecay = SignalDecay, Decay = Decay,
    };

    /// <inheritdoc />
    public override string Name => "relevance";

    /// <inheritdoc />
    public override void Validate()
    {
        foreach (var (property, reason) in Gate.Problems()) Require(false, property, reason);
        base.Validate();
    }

    /// <summary>
    /// The crop's settings and α, then each calibration only where it differs from the paper's default, so that the
    /// description (and the checkpoint identity) of a run with the paper's gate is what it always was.
    /// </summary>
    protected override IEnumerable<(string Key, JsonNode? Value)> Settings()
    {
        var settings = base.Settings().Append(("alpha", Number(Alpha)));
        var paper = RelevanceGate.Paper;
        if (AlphaQuantile is { } q) settings = settings.Append(("alpha_quantile", Number(q)));
        if (AlphaSmoothing != paper.AlphaSmoothing) settings = settings.Append(("alpha_smoothing", Number(AlphaSmoothing)));
        if (Signal != paper.Signal) settings = settings.Append(("signal", SnakeCase(Signal.ToString())));
        if (SignalDecay != paper.SignalDecay) settings = settings.Append(("signal_decay", Number(SignalDecay)));
        if (Decay != paper.Decay) settings = settings.Append(("decay", SnakeCase(Decay.ToString())));
        return settings;
    }

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks)
    {
        return new RelevanceWeightDecay(Gate, masks.MaskOf);
    }

    private static JsonNode SnakeCase(string name) => JsonValue.Create(System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(name));
}

/// <summary>The L2 baseline: R = γ·Σw² (<see cref="L2WeightDecay"/>) with the iterative crop.</summary>
public sealed record L2Pruning : IterativeCropPruning
{
    /// <inheritdoc />
    public override string Name => "l2";

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks) => new L2WeightDecay();
}

/// <summary>The L1 baseline: R = γ·Σ|w| as a proximal soft-threshold step (<see cref="L1ProximalDecay"/>), with the iterative crop.</summary>
public sealed record L1Pruning : IterativeCropPruning
{
    /// <inheritdoc />
    public override string Name => "l1";

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks) => new L1ProximalDecay();
}

/// <summary>Magnitude pruning alone (<c>none</c>): no regularizer, the iterative crop.</summary>
public sealed record MagnitudePruning : IterativeCropPruning
{
    /// <summary>No regularizer, so γ is 0.</summary>
    public MagnitudePruning() => Gamma = 0;

    /// <inheritdoc />
    public override string Name => "none";

    /// <inheritdoc />
    protected override GradientRegularizer CreateOwnRegularizer(PruningMasks masks) => new NoRegularization();
}
