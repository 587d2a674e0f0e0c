namespace Topiary.Regularization;

/// <summary>
/// The regularization strength over time, as in Bonetta et al.'s code (<c>gamma_decay</c>):
/// γ_t = max(0, γ0 − γ0·t/N), t counting optimizer steps since the last pruning event and N the
/// steps of one epoch. Each pruning event calls <see cref="Reset"/>, so γ falls linearly from γ0 to 0
/// over one epoch after every crop. With decay off γ stays γ0.
/// </summary>
public sealed class GammaSchedule
{
    /// <summary>Creates the schedule.</summary>
    public GammaSchedule(double gamma0, bool decay, long stepsPerEpoch)
    {
        if (!(gamma0 >= 0) || double.IsInfinity(gamma0)) throw new ArgumentOutOfRangeException(nameof(gamma0), gamma0, "gamma must be a finite number ≥ 0");
        if (stepsPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), stepsPerEpoch, "an epoch needs at least one step");
        Gamma0 = gamma0;
        Decay = decay;
        StepsPerEpoch = stepsPerEpoch;
    }

    /// <summary>γ0, the value right after a reset.</summary>
    public double Gamma0 { get; }

    /// <summary>Whether γ decays between pruning events.</summary>
    public bool Decay { get; }

    /// <summary>N, the decay length in steps.</summary>
    public long StepsPerEpoch { get; }

    /// <summary>Optimizer steps since the last reset.</summary>
    public long StepsSinceReset { get; set; }

    /// <summary>γ for the current step.</summary>
    public double Current => Decay ? Math.Max(0, Gamma0 - Gamma0 * StepsSinceReset / StepsPerEpoch) : Gamma0;

    /// <summary>Counts one optimizer step.</summary>
    public void Advance() => StepsSinceReset++;

    /// <summary>Restarts the decay at γ0 (called at each pruning event).</summary>
    public void Reset() => StepsSinceReset = 0;
}
