namespace Topiary.Regularization;

/// <summary>
/// How <see cref="RelevanceWeightDecay"/> computes its gate exp(−s/α) and applies the decay. The defaults
/// (<see cref="Paper"/>) are Bonetta, Ribero and Cancelliere's (arXiv 2204.04977; the authors' code): α = 1,
/// s = |∂L/∂w| of the minibatch, the decay coupled to the gradient. With a mean-reduced loss |g| is of order
/// 1e-4, so with α = 1 the gate stays above about 0.75 and the method is plain L2 to within about 1 %; the other
/// settings make the gate select: a per-layer α that follows the scale of the gradients
/// (<see cref="AlphaQuantile"/>), a less noisy signal (<see cref="RelevanceSignal.RunningAverage"/>), and a decay
/// that does not pass through Adam's 1/√v (<see cref="DecayCoupling.Decoupled"/>).
/// </summary>
public sealed record RelevanceGate
{
    /// <summary>The paper's gate: α = 1, the minibatch gradient, coupled decay.</summary>
    public static RelevanceGate Paper { get; } = new();

    /// <summary>The default <see cref="AlphaSmoothing"/>.</summary>
    public const double DefaultAlphaSmoothing = 0.99;

    /// <summary>The default <see cref="SignalDecay"/>.</summary>
    public const double DefaultSignalDecay = 0.9;

    /// <summary>
    /// The fixed α, &gt; 0: the signal at which the gate falls to 1/e (default 1, the authors' value). Not used when
    /// <see cref="AlphaQuantile"/> is set.
    /// </summary>
    public double Alpha { get; init; } = 1.0;

    /// <summary>
    /// When set, q in (0, 1]: a scale-free α per layer (prunable tensor), the q-quantile of the signal s over that
    /// layer's unpruned entries (the ⌊q·(n − 1)⌋ + 1-th smallest of n), so that the gate of that quantile is 1/e and
    /// a share q of the layer's weights has a gate of at least 1/e. It is tracked over steps by an exponential moving
    /// average (<see cref="AlphaSmoothing"/>). Null (the default) keeps the fixed <see cref="Alpha"/>.
    /// </summary>
    public double? AlphaQuantile { get; init; }

    /// <summary>
    /// ρ in [0, 1): α_t = ρ·α_{t−1} + (1 − ρ)·quantile_t, with α_1 = quantile_1 (default 0.99, about the last 100
    /// steps). One minibatch's quantile jitters from step to step; an average over about 1/(1 − ρ) steps keeps the
    /// gate steady while still following the gradients as they shrink during training and pruning. ρ = 0 uses each
    /// step's own quantile.
    /// </summary>
    public double AlphaSmoothing { get; init; } = DefaultAlphaSmoothing;

    /// <summary>What the gate reads (default <see cref="RelevanceSignal.Minibatch"/>, the paper's).</summary>
    public RelevanceSignal Signal { get; init; } = RelevanceSignal.Minibatch;

    /// <summary>β in [0, 1) of <see cref="RelevanceSignal.RunningAverage"/>: s ← β·s + (1 − β)·|g| (default 0.9). Not used otherwise.</summary>
    public double SignalDecay { get; init; } = DefaultSignalDecay;

    /// <summary>Where the decay enters the step (default <see cref="DecayCoupling.Coupled"/>, the paper's).</summary>
    public DecayCoupling Decay { get; init; } = DecayCoupling.Coupled;

    /// <summary>Whether the gate keeps state across steps (a tracked α or a running average), which checkpoints then carry.</summary>
    public bool KeepsState => AlphaQuantile is not null || Signal == RelevanceSignal.RunningAverage;

    /// <summary>The settings that are out of range, by property name, with the reason; empty when all are valid.</summary>
    public IEnumerable<(string Property, string Reason)> Problems()
    {
        if (!(Alpha > 0 && double.IsFinite(Alpha))) yield return (nameof(Alpha), $"must be a finite number > 0, got {Format(Alpha)}");
        if (AlphaQuantile is { } q && !(q > 0 && q <= 1)) yield return (nameof(AlphaQuantile), $"must lie in (0, 1], got {Format(q)}");
        if (!(AlphaSmoothing >= 0 && AlphaSmoothing < 1)) yield return (nameof(AlphaSmoothing), $"must lie in [0, 1), got {Format(AlphaSmoothing)}");
        if (!Enum.IsDefined(Signal)) yield return (nameof(Signal), $"unknown signal {(int)Signal}");
        if (!(SignalDecay >= 0 && SignalDecay < 1)) yield return (nameof(SignalDecay), $"must lie in [0, 1), got {Format(SignalDecay)}");
        if (!Enum.IsDefined(Decay)) yield return (nameof(Decay), $"unknown coupling {(int)Decay}");
    }

    private static string Format(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
