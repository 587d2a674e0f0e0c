using Topiary.Regularization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tuning;

/// <summary>
/// Tunes a regularization strength while the model trains, from held-out data (bilevel hyperparameter optimization):
/// the training step runs with λ_eff = m·λ_t, where λ_t is the method's scheduled strength (for the flagship, γ after
/// its decay) and m = exp(θ) the multiplier this tuner learns, so that the upper objective F(λ) = L_val(w*(λ)) falls.
/// Implementations: <see cref="HoagTuner"/> (Pedregosa, ICML 2016, #46), <see cref="InexactBilevelTuner"/>
/// (Salehi, Mukherjee, Roberts, Ehrhardt, #34) and <see cref="SelfTuningTuner"/> (MacKay et al., ICLR 2019, #62).
/// </summary>
/// <remarks>
/// The caller (a <c>PruningSession</c>, or your own loop) multiplies the strength by <see cref="Multiplier"/> at every step,
/// and calls <see cref="Update"/> from time to time (for example at each evaluation) with a <see cref="TuningProblem"/>
/// that gives training and validation losses. The training between two updates is the approximate solve of the lower
/// problem. A tuner may also need to act on every training step (the self-tuning network's perturbed hyperparameters):
/// then <see cref="Wrap"/> returns a regularizer that does so around the method's own.
/// </remarks>
public abstract class StrengthTuner
{
    /// <summary>The name used in reports and on the command line (for example <c>hoag</c>).</summary>
    public abstract string Name { get; }

    /// <summary>θ = log m, the learned log-multiplier of the strength (0 at the start: the hand-set strength).</summary>
    public double LogMultiplier { get; protected set; }

    /// <summary>m = exp(θ), the factor applied to the scheduled strength.</summary>
    public double Multiplier => Math.Exp(LogMultiplier);

    /// <summary>
    /// ln 100: the default bound on |θ| of the gradient-based tuners, so that a noisy hypergradient cannot move the
    /// strength by more than a factor 100 either way.
    /// </summary>
    public const double DefaultMaxLogMultiplier = 4.605170185988092;

    /// <summary>
    /// The regularizer the training step should run: the method's own by default. A tuner that acts on every step
    /// returns a regularizer that wraps <paramref name="regularizer"/>.
    /// </summary>
    /// <param name="regularizer">The method's regularizer.</param>
    /// <param name="regularized">The parameters the step regularizes (a session's regularized list), or null for every one the regularizer applies to.</param>
    public virtual GradientRegularizer Wrap(GradientRegularizer regularizer, IReadOnlyList<Parameter>? regularized = null) => regularizer;

    /// <summary>
    /// Checks, before training starts, that this tuner can work with the method's regularizer <paramref name="regularizer"/>
    /// (the part whose strength it tunes); the default accepts every regularizer.
    /// </summary>
    /// <exception cref="ArgumentException">It cannot; the message names the regularizer and says why.</exception>
    public virtual void EnsureSupported(GradientRegularizer regularizer) { }

    /// <summary>One update of the multiplier from the problem's losses at the current weights.</summary>
    /// <exception cref="OperationCanceledException">Cancelled through <paramref name="cancellationToken"/>.</exception>
    public abstract TuningUpdate Update(TuningProblem problem, CancellationToken cancellationToken = default);

    /// <summary>State kept across updates (θ and the tuner's own), for checkpoints. Tensors are the caller's to dispose.</summary>
    public virtual IReadOnlyDictionary<string, Tensor> SaveState() =>
        new Dictionary<string, Tensor> { ["log_multiplier"] = tensor(LogMultiplier, float64) };

    /// <summary>Restores what <see cref="SaveState"/> gave.</summary>
    public virtual void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        if (state.TryGetValue("log_multiplier", out var value)) LogMultiplier = value.to(float64).item<double>();
    }
}
