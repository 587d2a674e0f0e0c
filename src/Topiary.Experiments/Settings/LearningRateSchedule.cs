namespace Topiary.Experiments;

/// <summary>How the learning rate moves over a training phase of T steps.</summary>
public enum LearningRateSchedule
{
    /// <summary>The optimizer's learning rate at every step.</summary>
    Constant,

    /// <summary>
    /// Cosine annealing without restarts (Loshchilov and Hutter, ICLR 2017, "SGDR"): at step t = 0 … T − 1,
    /// η_t = η₀·½·(1 + cos(π·t/T)), from η₀ down towards 0, as PyTorch's <c>CosineAnnealingLR(T_max = T)</c>.
    /// </summary>
    Cosine,
}

/// <summary>The learning rate a <see cref="LearningRateSchedule"/> gives at one step.</summary>
public static class LearningRateSchedules
{
    /// <summary>The schedule as reports and the command line spell it: <c>constant</c> or <c>cosine</c>.</summary>
    public static string Spelling(this LearningRateSchedule schedule) => schedule.ToString().ToLowerInvariant();

    /// <summary>η_t for step <paramref name="step"/> (from 0) of <paramref name="steps"/>, starting from <paramref name="initial"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The step is outside [0, steps).</exception>
    public static double At(this LearningRateSchedule schedule, double initial, long step, long steps)
    {
        if (step < 0 || step >= steps) throw new ArgumentOutOfRangeException(nameof(step), step, $"the step must lie in [0, {steps})");
        return schedule switch
        {
            LearningRateSchedule.Cosine => initial * 0.5 * (1 + Math.Cos(Math.PI * step / steps)),
            _ => initial,
        };
    }
}
