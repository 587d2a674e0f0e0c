using Topiary.Backend;
using Topiary.Regularization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tuning;

/// <summary>
/// Self-tuning networks of MacKay, Vicol, Lorraine, Duvenaud and Grosse (ICLR 2019, seed paper #62) for the
/// log-multiplier ψ = θ = log m of a regularization strength (λ = m·λ_t): the weights are a structured best response
/// Ŵ(ψ) = W_e + diag(v·(ψ − ψ_c))·W_h of the hyperparameter (see <c>BestResponseWeights</c>), trained on every step at
/// perturbed ψ̃ ~ N(ψ, σ²) by the regularizer <see cref="Wrap"/> returns (<see cref="SelfTuningStep"/>), and ψ follows
/// the validation loss through it: dF/dψ = Σ_tensors Σ_o v_o·Σ_j (G_v ⊙ W_h)_{o,j} with G_v = ∇L_val(Ŵ(ψ)), then
/// ψ ← clamp(ψ − η_h·dF/dψ, ±ln 100) (<see cref="Update"/>).
/// </summary>
/// <remarks>
/// <para>Which tensors: every tensor of at least two dimensions (linear and convolution weights, output units first) that
/// the method's regularizer applies to and that <see cref="Regularized"/> holds gets W_h and v; biases and other
/// parameters are W_e alone (they still follow the perturbed weights' gradient, but do not respond to ψ). The model needs
/// no changed modules: Ŵ is written into its parameters for the passes and W_e restored bit-exactly afterwards.</para>
/// <para>The centre ψ_c is the current ψ (at every step and update). Then Ŵ(ψ) = W_e: the model's own weights are the
/// best response at the current hyperparameter, so evaluation, pruning and export need nothing of the tuner; the
/// perturbation ψ̃ − ψ_c is zero-mean, so W_e's gradient is unbiased at first order; and diag(v)·W_h is the slope
/// dŴ/dψ at ψ (<see cref="Slope"/>). When ψ moves, W_e is not shifted by the slope: training moves it (so W_e is restored
/// bit-exactly by <see cref="Update"/> too).</para>
/// <para>Simplifications against the paper: one scalar hyperparameter; a fixed perturbation scale σ (the paper learns
/// σ with an entropy term); no best response for biases (the paper also gates them, b̂ = b_e + (Cλ) ⊙ b_h); plain
/// gradient steps on ψ with a step cap; and the hyper step at <see cref="Update"/> (for example each evaluation) instead
/// of alternating a fixed number of training and validation steps.</para>
/// </remarks>
public sealed class SelfTuningTuner : StrengthTuner, IDisposable
{
    private const string Prefix = "stn.";
    private static readonly double Bound = Math.Log(100);

    private Random random;
    private long draws;
    private BestResponseWeights? bestResponse;
    private Dictionary<string, Tensor>? pendingState;

    /// <summary>Creates the tuner.</summary>
    /// <param name="perturbationScale">
    /// σ, the standard deviation of ψ̃ ~ N(ψ, σ²) on the training steps: the neighbourhood of ψ over which the best
    /// response is fitted. 0.25 (λ̃ within a factor e^{±0.25} ≈ 0.78–1.28 of λ at one σ): wide enough for a clear signal
    /// on W_h (its gradient grows as σ²), narrow enough that the linear response stays close to the tangent
    /// (for ridge regression the fitted slope differs from dw*/dψ by O(σ²): between about −σ² and +σ²/2 relative, a few
    /// percent at 0.25, from the expectations of e^ε, ε·e^ε and ε²·e^ε that λ̃ = e^ε·λ brings in).
    /// </param>
    /// <param name="hyperLearningRate">η_h of ψ ← ψ − η_h·dF/dψ. 1: dF/dψ is the change of the validation loss per e-fold of
    /// the strength, so a validation loss that would fall by 0.1 at e times the strength moves ψ by about 0.1.</param>
    /// <param name="bestResponseLearningRate">Adam's step size for W_h and v. 1e-3, Adam's usual default (the paper trains
    /// the best-response parameters with the model's optimizer settings).</param>
    /// <param name="maxStep">The largest |Δψ| of one <see cref="Update"/> (a trust region: a factor e^0.5 ≈ 1.65 of the strength).</param>
    /// <param name="seed">Seed of the ψ̃ draws (a <see cref="Random"/>; the number of draws is checkpointed, so a resumed run draws the same ψ̃).</param>
    /// <param name="regularized">
    /// The parameters the training step regularizes (the session's regularized list): R's gradient goes to these, at λ̃,
    /// and only these get a best response. Null: every trainable parameter the regularizer applies to.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">A scale, rate or step is not positive and finite.</exception>
    public SelfTuningTuner(double perturbationScale = 0.25, double hyperLearningRate = 1.0, double bestResponseLearningRate = 1e-3,
        double maxStep = 0.5, int seed = 0, IReadOnlyList<Parameter>? regularized = null)
    {
        foreach (var (value, name) in new[] { (perturbationScale, nameof(perturbationScale)), (hyperLearningRate, nameof(hyperLearningRate)),
                     (bestResponseLearningRate, nameof(bestResponseLearningRate)), (maxStep, nameof(maxStep)) })
            if (!(value > 0 && double.IsFinite(value))) throw new ArgumentOutOfRangeException(name, value, "must be a positive finite number");
        PerturbationScale = perturbationScale;
        HyperLearningRate = hyperLearningRate;
        BestResponseLearningRate = bestResponseLearningRate;
        MaxStep = maxStep;
        Seed = seed;
        Regularized = regularized;
        random = new Random(seed);
    }

    /// <inheritdoc />
    public override string Name => "stn";

    /// <summary>σ of ψ̃ ~ N(ψ, σ²).</summary>
    public double PerturbationScale { get; }

    /// <summary>η_h of ψ ← ψ − η_h·dF/dψ.</summary>
    public double HyperLearningRate { get; }

    /// <summary>Adam's step size for W_h and v.</summary>
    public double BestResponseLearningRate { get; }

    /// <summary>The largest |Δψ| of one update.</summary>
    public double MaxStep { get; }

    /// <summary>Seed of the ψ̃ draws.</summary>
    public int Seed { get; }

    /// <summary>The parameters the training step regularizes, or null for every one the regularizer applies to.</summary>
    public IReadOnlyList<Parameter>? Regularized { get; private set; }

    /// <summary>The last ψ̃ drawn by a training step (NaN before the first).</summary>
    public double LastSample { get; private set; } = double.NaN;

    /// <summary>Wraps the method's regularizer in the training half of the self-tuning network (<see cref="SelfTuningStep"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="regularizer"/> replaces the backward pass itself (SAM, AMP, F-GR, …).</exception>
    /// <remarks>A <paramref name="regularized"/> list given here applies when the constructor was given none.</remarks>
    public override GradientRegularizer Wrap(GradientRegularizer regularizer, IReadOnlyList<Parameter>? regularized = null)
    {
        Regularized ??= regularized;
        return new SelfTuningStep(this, regularizer);
    }

    /// <summary>
    /// dŴ/dψ = diag(v)·W_h of <paramref name="parameter"/> (the slope of its best response at ψ), or null for a parameter
    /// without one or before the first training step.
    /// </summary>
    public Tensor? Slope(Tensor parameter)
    {
        if (bestResponse is null) return null;
        for (var i = 0; i < bestResponse.Targets.Count; i++)
            if (bestResponse.Targets[i].Handle == parameter.Handle) return bestResponse.Slope(i);
        return null;
    }

    /// <summary>
    /// The hyper half (the paper's Alg. 1, "tune the hyperparameters"): G_v, the gradient of the mean validation loss over
    /// <see cref="TuningProblem.ValidationBatches"/> batches at Ŵ(ψ) = W_e; dF/dψ = Σ_tensors Σ_o v_o·Σ_j (G_v ⊙ W_h)_{o,j};
    /// ψ ← clamp(ψ − η_h·dF/dψ, ±ln 100), |Δψ| ≤ <see cref="MaxStep"/>. The weights and their gradients are left as they
    /// were. Before the first training step dF/dψ = 0 (W_h = 0). No Hessian products; no tolerance (NaN).
    /// </summary>
    public override TuningUpdate Update(TuningProblem problem, CancellationToken cancellationToken = default)
    {
        using var scope = NewDisposeScope();
        var targets = bestResponse?.Targets ?? [];
        var gradients = targets.Select(_ => (Tensor?)null).ToList();
        using var perturbation = new ParameterPerturbation(targets);
        double loss = 0;
        try
        {
            if (bestResponse is not null)   // Ŵ(ψ) at offset ψ − ψ_c = 0: W_e itself; written for any centre.
                perturbation.SetTo(targets.Select((_, i) => bestResponse.Value(i, 0.0, null)).ToList());
            for (var b = 0; b < problem.ValidationBatches; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var batch = NewDisposeScope();
                var value = problem.ValidationLoss(b).div(HeldScalar.Of(problem.ValidationBatches));
                loss += value.detach().to(float64).item<double>();
                if (targets.Count == 0) continue;
                var parts = autograd.grad([value], targets.ToArray<Tensor>(), allow_unused: true);
                for (var i = 0; i < targets.Count; i++)
                {
                    if (parts[i] is not { } g || g.IsInvalid) continue;
                    if (gradients[i] is { } sum) sum.add_(g.detach());
                    else gradients[i] = g.detach().clone().MoveToOuterDisposeScope();
                }
            }
        }
        finally
        {
            perturbation.Restore();
        }
        var hypergradient = bestResponse?.Hypergradient(gradients) ?? 0.0;
        var step = Math.Clamp(-HyperLearningRate * hypergradient, -MaxStep, MaxStep);
        LogMultiplier = Math.Clamp(LogMultiplier + step, -Bound, Bound);
        return new TuningUpdate(Multiplier, hypergradient, loss, double.NaN, Accepted: true, HessianProducts: 0);
    }

    /// <summary>
    /// ψ (<c>log_multiplier</c>), the number of ψ̃ drawn (<c>stn.draws</c>), and W_h, v and their Adam state by tensor index
    /// (<c>stn.{i}.hidden</c>, <c>stn.{i}.gate</c>, <c>stn.adam.*</c>; the order of the best-response tensors, shapes checked on load).
    /// </summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState()
    {
        var state = new Dictionary<string, Tensor>(base.SaveState()) { [$"{Prefix}draws"] = tensor(draws, int64) };
        if (bestResponse is not null) bestResponse.SaveInto(state, Prefix);
        else if (pendingState is not null) foreach (var (key, value) in pendingState) state[key] = value.clone();
        return state;
    }

    /// <summary>
    /// Restores what <see cref="SaveState"/> gave. The best-response tensors are made at the first training step: state
    /// loaded before it is kept and applied then.
    /// </summary>
    /// <exception cref="ArgumentException">The best-response state does not fit this model's tensors.</exception>
    public override void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        base.LoadState(state);
        random = new Random(Seed);
        draws = 0;
        var count = state.TryGetValue($"{Prefix}draws", out var saved) ? saved.to(int64).item<long>() : 0;
        for (var k = 0; k < count; k++) Sample();
        LastSample = double.NaN;
        var own = state.Where(p => p.Key.StartsWith(Prefix) && p.Key != $"{Prefix}draws")
            .ToDictionary(p => p.Key, p => p.Value.detach().clone().DetachFromDisposeScope());
        if (bestResponse is not null) bestResponse.LoadFrom(own, Prefix);
        else pendingState = own;
    }

    /// <summary>Releases W_h, v and their optimizer.</summary>
    public void Dispose()
    {
        bestResponse?.Dispose();
        bestResponse = null;
    }

    /// <summary>ψ̃ ~ N(ψ, σ²) (Box–Muller from two uniforms per draw).</summary>
    internal double Sample()
    {
        draws++;
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        LastSample = LogMultiplier + PerturbationScale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        return LastSample;
    }

    /// <summary>The best-response weights, made at the first call from <paramref name="parameters"/> (see the remarks).</summary>
    internal BestResponseWeights BestResponseFor(IReadOnlyList<Parameter> parameters, GradientRegularizer inner)
    {
        if (bestResponse is not null) return bestResponse;
        var regularized = Regularized?.Select(p => p.Handle).ToHashSet();
        var targets = parameters.Where(p => p.dim() >= 2 && inner.AppliesTo(p) && (regularized?.Contains(p.Handle) ?? true)).ToList();
        bestResponse = new BestResponseWeights(targets, BestResponseLearningRate);
        if (pendingState is not null)
        {
            var pending = pendingState;
            pendingState = null;
            bestResponse.LoadFrom(pending, Prefix);
            foreach (var t in pending.Values) t.Dispose();
        }
        return bestResponse;
    }

    /// <summary>The best-response weights, or null before the first training step (for tests).</summary>
    internal BestResponseWeights? BestResponse => bestResponse;
}
