using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// Relevance-gated weight decay of Bonetta, Ribero and Cancelliere, "Regularization-based Pruning of
/// Irrelevant Weights in Deep Neural Architectures" (Applied Intelligence 2023, arXiv 2204.04977):
/// R(w) = γ·Σ exp(−|∂L/∂w|/α)·w², with ∂L/∂w held constant, so ∂R/∂w = 2γ·exp(−|g|/α)·w.
/// Weights the loss does not depend on (|g| ≈ 0) get the full decay 2γw; relevant weights
/// (|g| ≫ α) get almost none. As α → ∞ it becomes plain L2 decay γ·Σw².
/// <see cref="RelevanceGate"/> calibrates the gate exp(−s/α): s the minibatch |g| or its running average, α fixed
/// or a tracked per-layer quantile of s, and the decay coupled to the gradient or applied after the optimizer step.
/// The signal and α of the last step are kept per tensor, for the decoupled step and for
/// <see cref="GateStatistics"/>.
/// </summary>
public sealed class RelevanceWeightDecay : GradientRegularizer
{
    // Below this α the gate is a step function anyway; the floor keeps a quantile of 0 (dead units) from dividing by 0.
    private const double AlphaFloor = 1e-12;

    private readonly Func<Tensor, Tensor?>? maskOf;
    private readonly PerParameterTensors average = new("/relevance_average", p => p.shape);
    private readonly PerParameterTensors alphas = new("/relevance_alpha", _ => []);
    // The minibatch |g| of the last step; not checkpointed (the next step sets it again).
    private readonly PerParameterTensors lastSignal = new("/relevance_signal", p => p.shape);

    /// <summary>Creates the regularizer with the fixed relevance scale α (the authors use 1) and the paper's other settings.</summary>
    public RelevanceWeightDecay(double alpha = 1.0) : this(new RelevanceGate { Alpha = alpha })
    {
    }

    /// <summary>Creates the regularizer with the gate <paramref name="gate"/>.</summary>
    /// <param name="gate">How the gate is computed and the decay applied.</param>
    /// <param name="maskOf">
    /// The pruning mask of a parameter (1 kept, 0 pruned), or null for one that is not pruned: a per-layer quantile α and
    /// <see cref="GateStatistics"/> look at unpruned entries only. Null: every entry counts.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">A setting of <paramref name="gate"/> is out of range.</exception>
    public RelevanceWeightDecay(RelevanceGate gate, Func<Tensor, Tensor?>? maskOf = null)
    {
        foreach (var (property, reason) in gate.Problems()) throw new ArgumentOutOfRangeException(nameof(gate), $"{property} {reason}");
        Gate = gate;
        this.maskOf = maskOf;
    }

    /// <summary>The gate's settings.</summary>
    public RelevanceGate Gate { get; }

    /// <summary>α: the gradient magnitude at which the decay falls to 1/e (the fixed one; see <see cref="RelevanceGate.AlphaQuantile"/>).</summary>
    public double Alpha => Gate.Alpha;

    /// <inheritdoc />
    public override string Name => "relevance";

    /// <summary>
    /// True for coupled decay: with the gate exp(−s/α) held constant R is quadratic in w and <see cref="AddGradient"/> adds
    /// ∂R/∂w. False for decoupled decay, which acts in <see cref="Project"/>.
    /// </summary>
    public override bool IsSmoothPenalty => Gate.Decay == DecayCoupling.Coupled;

    /// <summary>
    /// Updates the signal s (and α) of <paramref name="weight"/> from the loss gradient <paramref name="grad"/>, then, for
    /// coupled decay, g ← g + 2γ·exp(−s/α)·w. The signal is tracked even at γ = 0, so that α and the statistics stay current
    /// while γ's schedule rests.
    /// </summary>
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        using var scope = NewDisposeScope();
        var signal = UpdateSignal(weight, grad);
        if (Gate.AlphaQuantile is { } q) UpdateAlpha(weight, signal, q);
        if (strength == 0 || Gate.Decay != DecayCoupling.Coupled) return;
        grad.add_(GateOf(weight, signal).mul_(weight.detach()), alpha: HeldScalar.Of(2 * strength));
    }

    /// <summary>Decoupled decay only: w ← w − 2ηγ·exp(−s/α)·w, with s and α from this step's <see cref="AddGradient"/> and η = <paramref name="stepSize"/>.</summary>
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize)
    {
        if (strength == 0 || Gate.Decay != DecayCoupling.Decoupled || !TryGetSignal(weight, out var signal)) return;
        using var scope = NewDisposeScope();
        weight.add_(GateOf(weight, signal).mul_(weight.detach()), alpha: HeldScalar.Of(-2 * strength * stepSize));
    }

    /// <summary>
    /// γ·Σ exp(−s/α)·w² with s and α held constant: s = |<paramref name="grad"/>| for the minibatch signal, else the running
    /// average (|grad| before the first step); α the tracked one once a step has set it, else the fixed one.
    /// </summary>
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        var signal = Gate.Signal == RelevanceSignal.RunningAverage && average.TryGet(weight, out var kept) ? kept : grad.detach().abs();
        return GateOf(weight, signal).mul(weight.square()).sum().mul(HeldScalar.Of(strength));
    }

    /// <summary>
    /// Per parameter of <paramref name="parameters"/> that a step has reached: α and the quantiles at
    /// <paramref name="levels"/> of the signal s and of the gate exp(−s/α) over the unpruned entries, as of the last
    /// <see cref="AddGradient"/>. Cheap: it reads what the step kept, with no extra backward pass.
    /// </summary>
    public IReadOnlyList<LayerGate> GateStatistics(IEnumerable<(string Name, Tensor Parameter)> parameters, IReadOnlyList<double> levels)
    {
        var layers = new List<LayerGate>();
        foreach (var (name, parameter) in parameters)
        {
            if (!TryGetSignal(parameter, out var signal)) continue;
            layers.Add(GateQuantiles.Of(name, signal, CurrentAlpha(parameter), MaskOf(parameter), levels));
        }
        return layers;
    }

    /// <summary>The α the gate of <paramref name="parameter"/> uses now: the tracked quantile once a step has set it, else the fixed one.</summary>
    public double CurrentAlpha(Tensor parameter) =>
        alphas.TryGet(parameter, out var alpha) ? alpha.item<double>() : Gate.Alpha;

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = average.Save(parameters);
        alphas.SaveInto(state, parameters);
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state) =>
        PerParameterTensors.Load(state, parameters, average, alphas);

    // s for this step: |g|, or the running average updated with it (started at the first |g|). Kept for Project and the statistics.
    private Tensor UpdateSignal(Tensor weight, Tensor grad)
    {
        var magnitude = grad.detach().abs();
        if (Gate.Signal == RelevanceSignal.Minibatch) lastSignal.Set(weight, magnitude);
        else if (average.TryGet(weight, out var previous)) return previous.mul_(HeldScalar.Of(Gate.SignalDecay)).add_(magnitude, alpha: HeldScalar.Of(1 - Gate.SignalDecay));
        else average.Set(weight, magnitude);
        return magnitude;
    }

    private bool TryGetSignal(Tensor parameter, out Tensor signal) =>
        Gate.Signal == RelevanceSignal.Minibatch ? lastSignal.TryGet(parameter, out signal) : average.TryGet(parameter, out signal);

    // α_t = ρ·α_{t−1} + (1 − ρ)·quantile_q(s over unpruned entries), α_1 = quantile_1, kept in float64.
    private void UpdateAlpha(Tensor weight, Tensor signal, double q)
    {
        var alive = GateQuantiles.Alive(signal, MaskOf(weight));
        if (alive.numel() == 0) return;
        var quantile = GateQuantiles.Lower(alive, q).to(float64);
        if (alphas.TryGet(weight, out var previous)) previous.mul_(HeldScalar.Of(Gate.AlphaSmoothing)).add_(quantile, alpha: HeldScalar.Of(1 - Gate.AlphaSmoothing)).clamp_min_(HeldScalar.Of(AlphaFloor));
        else alphas.Set(weight, quantile.clamp_min(HeldScalar.Of(AlphaFloor)));
    }

    private Tensor GateOf(Tensor weight, Tensor signal) =>
        Gate.AlphaQuantile is not null && alphas.TryGet(weight, out var alpha)
            ? signal.div(alpha.to(signal.dtype)).neg_().exp_()
            : signal.div(HeldScalar.Of(-Gate.Alpha)).exp_();

    private Tensor? MaskOf(Tensor parameter) => maskOf?.Invoke(parameter);
}
