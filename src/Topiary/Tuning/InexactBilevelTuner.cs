using Topiary.Regularization;
using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Tuning;

/// <summary>
/// MAID, the method of adaptive inexact descent (Salehi, Mukherjee, Roberts, Ehrhardt, "An adaptively inexact
/// first-order method for bilevel optimization with application to hyperparameter learning", SIAM J. Math. Data Sci.,
/// arXiv 2308.10098, seed paper #34), on θ = log m. Each update computes the implicit hypergradient p
/// (<see cref="ImplicitHypergradient"/>) with accuracy ε (the lower solve to ‖∇_w g‖ ≤ ε when
/// <see cref="TuningProblem.SolveLower"/> is given, CG to relative residual ε), then backtracks on the step α: the trial
/// θ' = P(θ − α·p), P the clamp to |θ| ≤ <see cref="MaxLogMultiplier"/>, is accepted when the inexact upper objective
/// decreases sufficiently with the accuracy terms as margins,
/// <code>F(w') + ‖∇F(w')‖·ε + (L_F/2)·ε² ≤ F(w) − ‖∇F(w)‖·ε − η·(θ' − θ)²/α</code>
/// (the last term is η·α·p² when the clamp does not bind), else α ← ρ·α. On acceptance α grows by
/// <see cref="StepGrowth"/> and ε loosens by <see cref="Loosen"/> (up to its initial value); when every trial of the
/// update fails, θ stays and ε tightens by <see cref="Tighten"/> (down to 10⁻¹²), while the next update starts again from
/// the same α, as in the authors' code: a failure with a margin ‖∇F‖·ε larger than the decrease α·p² that any step can
/// bring is cured by a smaller ε, not by a smaller α.
/// </summary>
/// <remarks>
/// <para>w' is the lower solution at θ': with <see cref="TuningProblem.SolveLower"/> (offline) it is solved there to ε
/// (and, when the step is rejected, the weights are put back bit-exactly); without it (online, inside a training loop) it
/// is the first-order best response w' = w + Δλ·dw/dλ, Δλ = λ_t·(e^θ' − e^θ), dw/dλ = −H⁻¹·∂R/∂w (one more CG solve), and
/// the weights are restored bit-exactly after each trial, so training continues from w with the new multiplier.
/// Online, both sides of the test are evaluated from the same lower iterate w, so its error is common to both and the
/// accuracy margins are left out (ε still sets the CG tolerances): a trial is accepted when
/// F(w') ≤ F(w) − η(θ'−θ)²/α. The first online trial step is scaled to move θ by <see cref="OnlineFirstMove"/>, since
/// a minibatch hypergradient's size says little about the distance to the optimum.</para>
/// <para>Adapted from the paper and the authors' code (MohammadSadeghSalehi/MAID): one update is one outer iteration with
/// at most <see cref="MaxBacktracks"/> trials (the code repeats the hypergradient with a tighter ε inside the same
/// iteration; here the next update does); ε stands for the error of the lower solution in the margins, as if the lower
/// problem were 1-strongly convex (the paper's ε/μ with μ = 1) and L_F = <see cref="UpperLipschitz"/>; the paper's a
/// posteriori check of the hypergradient error against ‖p‖, which needs Lipschitz constants of the Jacobians, is left
/// out; one ε serves the lower solve and CG (the paper's ε and δ, tightened and loosened together).</para>
/// </remarks>
public sealed class InexactBilevelTuner : StrengthTuner
{
    /// <summary>The smallest accuracy ε reaches.</summary>
    public const double AccuracyFloor = 1e-12;

    private readonly ImplicitHypergradientSettings settings;

    /// <summary>Creates the tuner.</summary>
    /// <param name="initialAccuracy">ε_0 &gt; 0, also the loosest ε (default 0.1, the paper's ε_0 and δ_0).</param>
    /// <param name="initialStep">α_0 &gt; 0, the first trial step on θ per unit of hypergradient (default 1).</param>
    /// <param name="shrink">ρ in (0, 1): α ← ρ·α after a rejected trial (default 0.5).</param>
    /// <param name="tighten">τ in (0, 1): ε ← τ·ε after an update whose trials all failed (default 0.5, the paper's).</param>
    /// <param name="loosen">ν ≥ 1: ε ← min(ν·ε, ε_0) after an accepted step (default 1.05, the paper's).</param>
    /// <param name="stepGrowth">≥ 1: α ← growth·α after an accepted step (default 10/9, the authors' code).</param>
    /// <param name="sufficientDecrease">η in (0, 1), the sufficient-decrease constant (default 1e-4, the paper's).</param>
    /// <param name="upperLipschitz">L_F ≥ 0, the Lipschitz constant of ∇F assumed in the margin (default 1).</param>
    /// <param name="maxBacktracks">Trials per update, ≥ 1 (default 10, the authors' code's first backtracking).</param>
    /// <param name="maxLogMultiplier">The clamp on |θ|, &gt; 0 (default ln 100).</param>
    /// <param name="settings">Settings of the Hessian products and CG solves; null for the defaults.</param>
    /// <param name="onlineFirstMove">Online only: the |Δθ| of the first trial of the first update, &gt; 0 (default 0.5).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public InexactBilevelTuner(double initialAccuracy = 0.1, double initialStep = 1.0, double shrink = 0.5, double tighten = 0.5,
        double loosen = 1.05, double stepGrowth = 10.0 / 9, double sufficientDecrease = 1e-4, double upperLipschitz = 1.0,
        int maxBacktracks = 10, double maxLogMultiplier = DefaultMaxLogMultiplier, ImplicitHypergradientSettings? settings = null,
        double onlineFirstMove = 0.5)
    {
        Require(onlineFirstMove > 0 && double.IsFinite(onlineFirstMove), nameof(onlineFirstMove), "a finite number > 0", onlineFirstMove);
        OnlineFirstMove = onlineFirstMove;
        Require(initialAccuracy > 0 && double.IsFinite(initialAccuracy), nameof(initialAccuracy), "a finite number > 0", initialAccuracy);
        Require(initialStep > 0 && double.IsFinite(initialStep), nameof(initialStep), "a finite number > 0", initialStep);
        Require(shrink > 0 && shrink < 1, nameof(shrink), "in (0, 1)", shrink);
        Require(tighten > 0 && tighten < 1, nameof(tighten), "in (0, 1)", tighten);
        Require(loosen >= 1 && double.IsFinite(loosen), nameof(loosen), "a finite number ≥ 1", loosen);
        Require(stepGrowth >= 1 && double.IsFinite(stepGrowth), nameof(stepGrowth), "a finite number ≥ 1", stepGrowth);
        Require(sufficientDecrease > 0 && sufficientDecrease < 1, nameof(sufficientDecrease), "in (0, 1)", sufficientDecrease);
        Require(upperLipschitz >= 0 && double.IsFinite(upperLipschitz), nameof(upperLipschitz), "a finite number ≥ 0", upperLipschitz);
        Require(maxBacktracks >= 1, nameof(maxBacktracks), "at least 1", maxBacktracks);
        Require(maxLogMultiplier > 0 && double.IsFinite(maxLogMultiplier), nameof(maxLogMultiplier), "a finite number > 0", maxLogMultiplier);
        this.settings = settings ?? new ImplicitHypergradientSettings();
        foreach (var (property, reason) in this.settings.Problems()) throw new ArgumentOutOfRangeException(nameof(settings), $"{property} {reason}");
        InitialAccuracy = Accuracy = initialAccuracy;
        StepSize = initialStep;
        (Shrink, Tighten, Loosen, StepGrowth) = (shrink, tighten, loosen, stepGrowth);
        (SufficientDecrease, UpperLipschitz, MaxBacktracks, MaxLogMultiplier) = (sufficientDecrease, upperLipschitz, maxBacktracks, maxLogMultiplier);
    }

    /// <inheritdoc />
    public override string Name => "bilevel";

    /// <inheritdoc />
    /// <remarks>The implicit hypergradient needs a smooth penalty (<see cref="GradientRegularizer.IsSmoothPenalty"/>).</remarks>
    public override void EnsureSupported(GradientRegularizer regularizer) => ImplicitHypergradient.EnsureSupported(regularizer);

    /// <summary>ε_0, the first and loosest accuracy.</summary>
    public double InitialAccuracy { get; }

    /// <summary>ε, the accuracy the next update asks of its lower solve and CG solves.</summary>
    public double Accuracy { get; private set; }

    /// <summary>α, the first trial step of the next update (θ moves by α·p).</summary>
    public double StepSize { get; private set; }

    /// <summary>The step of the last trial made (α·ρ^i for trial i of the last update); NaN before any.</summary>
    public double LastTrialStep { get; private set; } = double.NaN;

    /// <summary>ρ: α ← ρ·α after a rejected trial.</summary>
    public double Shrink { get; }

    /// <summary>τ: ε ← τ·ε after an update whose trials all failed.</summary>
    public double Tighten { get; }

    /// <summary>ν: ε ← min(ν·ε, ε_0) after an accepted step.</summary>
    public double Loosen { get; }

    /// <summary>α ← growth·α after an accepted step.</summary>
    public double StepGrowth { get; }

    /// <summary>η, the sufficient-decrease constant.</summary>
    public double SufficientDecrease { get; }

    /// <summary>L_F, the Lipschitz constant of ∇F in the margin (L_F/2)·ε².</summary>
    public double UpperLipschitz { get; }

    /// <summary>Trials per update.</summary>
    public int MaxBacktracks { get; }

    /// <summary>Online only: the |Δθ| of the first trial of the first update.</summary>
    public double OnlineFirstMove { get; }

    // Whether the online step has been scaled to the first hypergradient.
    private bool scaledOnline;

    /// <summary>θ is kept within [−MaxLogMultiplier, MaxLogMultiplier].</summary>
    public double MaxLogMultiplier { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The regularizer is not a smooth penalty.</exception>
    public override TuningUpdate Update(TuningProblem problem, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ImplicitHypergradient.EnsureSupported(problem.Regularizer);
        cancellationToken.ThrowIfCancellationRequested();
        var accuracy = Accuracy;
        var offline = problem.SolveLower is not null;
        problem.SolveLower?.Invoke(Multiplier, accuracy);
        cancellationToken.ThrowIfCancellationRequested();

        using var scope = NewDisposeScope();
        using var start = new ParameterPerturbation(problem.Parameters);
        using var hypergradient = new ImplicitHypergradient(problem, Multiplier, settings);
        var (loss, gradientNorm) = (hypergradient.ValidationLoss, hypergradient.ValidationGradientNorm);
        var p = hypergradient.Estimate(accuracy, null, cancellationToken).Estimate.LogGradient;
        if (p == 0 || !double.IsFinite(p)) return new TuningUpdate(Multiplier, p, loss, accuracy, false, hypergradient.HessianProducts);
        var direction = offline ? null : hypergradient.BestResponseDirection(accuracy, cancellationToken).Solution;

        if (!offline && !scaledOnline)
        {
            StepSize = OnlineFirstMove / Math.Abs(p);
            scaledOnline = true;
        }
        var theta = LogMultiplier;
        var step = StepSize;
        var margin = offline ? gradientNorm * accuracy : 0;
        for (var trial = 0; trial < MaxBacktracks; trial++, step *= Shrink)
        {
            cancellationToken.ThrowIfCancellationRequested();
            LastTrialStep = step;
            var next = Math.Clamp(theta - step * p, -MaxLogMultiplier, MaxLogMultiplier);
            var move = next - theta;
            if (move == 0) return new TuningUpdate(Multiplier, p, loss, accuracy, false, hypergradient.HessianProducts); // at the bound, pushed outwards
            var (trialLoss, trialNorm) = offline ? SolvedAt(problem, next, accuracy) : FirstOrderAt(problem, start, direction!, next);
            var upper = offline ? trialLoss + trialNorm * accuracy + UpperLipschitz / 2 * accuracy * accuracy : trialLoss;
            if (upper <= loss - margin - SufficientDecrease * move * move / step)
            {
                LogMultiplier = next;
                StepSize = step * StepGrowth;
                Accuracy = Math.Min(accuracy * Loosen, InitialAccuracy);
                return new TuningUpdate(Multiplier, p, loss, accuracy, true, hypergradient.HessianProducts);
            }
        }
        if (offline) start.Restore();
        Accuracy = Math.Max(accuracy * Tighten, AccuracyFloor);
        return new TuningUpdate(Multiplier, p, loss, accuracy, false, hypergradient.HessianProducts);
    }

    // F and ‖∇F‖ at the lower solution for θ', solved to the accuracy (the weights stay there).
    private static (double Loss, double GradientNorm) SolvedAt(TuningProblem problem, double logMultiplier, double accuracy)
    {
        problem.SolveLower!(Math.Exp(logMultiplier), accuracy);
        return UpperAtCurrentWeights(problem);
    }

    // F and ‖∇F‖ at the first-order best response w + Δλ·dw/dλ; the weights are restored bit-exactly.
    private (double Loss, double GradientNorm) FirstOrderAt(TuningProblem problem, ParameterPerturbation start, Tensor[] direction, double logMultiplier)
    {
        using var scope = NewDisposeScope();
        var change = problem.ScheduledStrength * (Math.Exp(logMultiplier) - Multiplier);
        try
        {
            start.MoveTo(direction.Select(d => d.mul(HeldScalar.Of(change))).ToArray());
            return UpperAtCurrentWeights(problem);
        }
        finally
        {
            start.Restore();
        }
    }

    private static (double Loss, double GradientNorm) UpperAtCurrentWeights(TuningProblem problem)
    {
        using var scope = NewDisposeScope();
        var (loss, gradient) = ImplicitHypergradient.UpperObjective(problem);
        return (loss, ParameterVectors.Norm(gradient));
    }

    private static void Require(bool valid, string name, string range, double value)
    {
        if (!valid) throw new ArgumentOutOfRangeException(name, $"must be {range}, got {value}");
    }

    /// <inheritdoc />
    public override IReadOnlyDictionary<string, Tensor> SaveState() => new Dictionary<string, Tensor>
    {
        ["log_multiplier"] = tensor(LogMultiplier, float64),
        ["bilevel"] = tensor(new[] { Accuracy, StepSize, scaledOnline ? 1.0 : 0.0 }, float64),
    };

    /// <inheritdoc />
    public override void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        base.LoadState(state);
        if (!state.TryGetValue("bilevel", out var saved)) return;
        var values = saved.to(float64).data<double>().ToArray();
        (Accuracy, StepSize) = (values[0], values[1]);
        scaledOnline = values.Length > 2 && values[2] != 0;
    }
}
