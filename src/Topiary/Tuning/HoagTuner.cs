using Topiary.Backend;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tuning;

/// <summary>
/// HOAG, hyperparameter optimization with approximate gradient (Pedregosa, "Hyperparameter optimization with approximate
/// gradient", ICML 2016, seed paper #46), on θ = log m. Update k: (i) with <see cref="TuningProblem.SolveLower"/> (offline)
/// solve the lower problem to ‖∇_w g‖ ≤ ε_k, otherwise the training since the last update was that solve;
/// (ii) solve H·q = ∇F by conjugate gradients to ‖H·q − ∇F‖ ≤ ε_k·‖∇F‖; (iii) p_k = −λ·(∂R/∂w)ᵀ·q (the
/// <see cref="ImplicitHypergradient"/>); (iv) θ ← P(θ − p_k/L_k), P the clamp to |θ| ≤ <see cref="MaxLogMultiplier"/>.
/// The tolerances ε_k = max(ε_0·ρ^k, 10⁻¹²) decrease geometrically, which the paper's convergence theorem needs summable
/// (Σ ε_k ≤ ε_0/(1 − ρ)); the floor only stops them at what double precision resolves.
/// </summary>
/// <remarks>
/// The step 1/L_k adapts as in the authors' code (fabianp/hoag): L_1 = |p_1| when |p_1| &gt; 10⁻³ (the first step moves θ
/// by 1, a factor e on λ), else 1; then, with d = |θ_k − θ_{k−1}| the previous step, L ← 0.95·L (a longer step) when
/// F_k − ε_k ≤ F_{k−1} + ε_{k−1} + ε_{k−1}·d − (L/2)·d² (sufficient decrease up to the tolerances), L unchanged when
/// F_k ≤ F_{k−1} otherwise, and L ← 2·L (a shorter step) when F rose. Adapted: the variable is θ = log m rather than λ
/// (so the step is scale free and m stays positive), the clamp is |θ| ≤ ln 100 by default instead of the code's
/// [−10, 6] on log λ, the step test is made at the start of update k (when F_k is known) rather than after the step, and
/// ε_k serves for both the lower solve (as an absolute gradient norm) and CG (as a relative residual). Every update
/// takes its step (<see cref="TuningUpdate.Accepted"/> is false only when θ did not move: a zero hypergradient, or the clamp
/// holding θ at its bound), and q warm-starts
/// the next CG solve, as in the paper, when its solve converged (not after a stop at negative curvature or the cap).
/// </remarks>
public sealed class HoagTuner : StrengthTuner
{
    /// <summary>The smallest tolerance the sequence reaches.</summary>
    public const double ToleranceFloor = 1e-12;

    private readonly ImplicitHypergradientSettings settings;
    private Tensor[]? warmStart;
    private double? lipschitz;
    private double previousLoss = double.NaN;
    private double previousTolerance = double.NaN;
    private double previousStep;

    /// <summary>Creates the tuner.</summary>
    /// <param name="initialTolerance">ε_0 &gt; 0 (default 0.01, the authors' <c>epsilon_tol_init</c>).</param>
    /// <param name="toleranceDecay">ρ in (0, 1): ε_k = ε_0·ρ^k (default 0.9, the authors' exponential decrease).</param>
    /// <param name="maxLogMultiplier">The clamp on |θ|, &gt; 0 (default ln 100: m within [0.01, 100]).</param>
    /// <param name="settings">Settings of the Hessian products and CG solves; null for the defaults.</param>
    /// <param name="maxStep">
    /// The largest |Δθ| of one update, &gt; 0 (default 1: the strength changes by at most a factor e per update). Not in the
    /// paper: inside a training loop the hypergradient is a minibatch estimate at a moving lower iterate, and one noisy
    /// estimate divided by a small L would otherwise throw the strength to the clamp.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public HoagTuner(double initialTolerance = 0.01, double toleranceDecay = 0.9, double maxLogMultiplier = DefaultMaxLogMultiplier,
        ImplicitHypergradientSettings? settings = null, double maxStep = 1.0)
    {
        if (!(maxStep > 0 && double.IsFinite(maxStep))) throw new ArgumentOutOfRangeException(nameof(maxStep), $"must be a finite number > 0, got {maxStep}");
        MaxStep = maxStep;
        if (!(initialTolerance > 0 && double.IsFinite(initialTolerance))) throw new ArgumentOutOfRangeException(nameof(initialTolerance), $"must be a finite number > 0, got {initialTolerance}");
        if (!(toleranceDecay > 0 && toleranceDecay < 1)) throw new ArgumentOutOfRangeException(nameof(toleranceDecay), $"must lie in (0, 1), got {toleranceDecay}");
        if (!(maxLogMultiplier > 0 && double.IsFinite(maxLogMultiplier))) throw new ArgumentOutOfRangeException(nameof(maxLogMultiplier), $"must be a finite number > 0, got {maxLogMultiplier}");
        this.settings = settings ?? new ImplicitHypergradientSettings();
        foreach (var (property, reason) in this.settings.Problems()) throw new ArgumentOutOfRangeException(nameof(settings), $"{property} {reason}");
        InitialTolerance = initialTolerance;
        ToleranceDecay = toleranceDecay;
        MaxLogMultiplier = maxLogMultiplier;
    }

    /// <inheritdoc />
    public override string Name => "hoag";

    /// <inheritdoc />
    /// <remarks>The implicit hypergradient needs a smooth penalty (<see cref="GradientRegularizer.IsSmoothPenalty"/>).</remarks>
    public override void EnsureSupported(GradientRegularizer regularizer) => ImplicitHypergradient.EnsureSupported(regularizer);

    /// <summary>ε_0.</summary>
    public double InitialTolerance { get; }

    /// <summary>ρ of ε_k = ε_0·ρ^k.</summary>
    public double ToleranceDecay { get; }

    /// <summary>θ is kept within [−MaxLogMultiplier, MaxLogMultiplier].</summary>
    public double MaxLogMultiplier { get; }

    /// <summary>Updates done so far (k of the next update).</summary>
    public int Iteration { get; private set; }

    /// <summary>1/L, the step of the next update on θ per unit of hypergradient; NaN before the first update.</summary>
    public double StepSize => lipschitz is { } l ? 1 / l : double.NaN;

    /// <summary>ε_k = max(ε_0·ρ^k, <see cref="ToleranceFloor"/>), the tolerance of update k.</summary>
    public double Tolerance(int k) => Math.Max(InitialTolerance * Math.Pow(ToleranceDecay, k), ToleranceFloor);

    /// <inheritdoc />
    /// <summary>The largest |Δθ| of one update.</summary>
    public double MaxStep { get; }

    /// <exception cref="ArgumentException">The regularizer is not a smooth penalty.</exception>
    public override TuningUpdate Update(TuningProblem problem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ImplicitHypergradient.EnsureSupported(problem.Regularizer);
        cancellationToken.ThrowIfCancellationRequested();
        var tolerance = Tolerance(Iteration);
        problem.SolveLower?.Invoke(Multiplier, tolerance);
        cancellationToken.ThrowIfCancellationRequested();

        using var scope = NewDisposeScope();
        using var hypergradient = new ImplicitHypergradient(problem, Multiplier, settings);
        var loss = hypergradient.ValidationLoss;
        AdaptStep(loss, tolerance);
        var (estimate, solution) = hypergradient.Estimate(tolerance, warmStart, cancellationToken);
        ParameterVectors.Dispose(warmStart);
        // Only a solve that converged warm-starts the next: where CG stopped at the iteration cap or at negative
        // curvature (a nonconvex network), its iterate carries the ill-conditioned directions into every later solve,
        // and online the estimates then grew by orders of magnitude from update to update.
        warmStart = estimate.Converged && !estimate.NegativeCurvature ? ParameterVectors.Owned(solution) : null;

        var p = estimate.LogGradient;
        lipschitz ??= Math.Abs(p) > 1e-3 ? Math.Abs(p) : 1;
        var before = LogMultiplier;
        if (p != 0 && double.IsFinite(p))
            LogMultiplier = Math.Clamp(LogMultiplier + Math.Clamp(-p / lipschitz.Value, -MaxStep, MaxStep), -MaxLogMultiplier, MaxLogMultiplier);
        previousStep = Math.Abs(LogMultiplier - before);
        previousLoss = loss;
        previousTolerance = tolerance;
        Iteration++;
        return new TuningUpdate(Multiplier, p, loss, tolerance, LogMultiplier != before, hypergradient.HessianProducts);
    }

    // HOAG's step rule, applied once F_k is known: longer after a sufficient decrease, shorter after a rise.
    private void AdaptStep(double loss, double tolerance)
    {
        if (lipschitz is not { } l || double.IsNaN(previousLoss)) return;
        var d = previousStep;
        if (loss - tolerance <= previousLoss + previousTolerance + previousTolerance * d - l / 2 * d * d) lipschitz = 0.95 * l;
        else if (loss > previousLoss) lipschitz = 2 * l;
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState() => new Dictionary<string, Tensor>
    {
        ["log_multiplier"] = tensor(LogMultiplier, float64),
        ["hoag"] = tensor(new double[] { Iteration, lipschitz ?? double.NaN, previousLoss, previousTolerance, previousStep }, float64),
    };

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        base.LoadState(state);
        if (!state.TryGetValue("hoag", out var saved)) return;
        var values = saved.to(float64).data<double>().ToArray();
        Iteration = (int)values[0];
        lipschitz = double.IsNaN(values[1]) ? null : values[1];
        (previousLoss, previousTolerance, previousStep) = (values[2], values[3], values[4]);
        ParameterVectors.Dispose(warmStart);
        warmStart = null;
    }
}
