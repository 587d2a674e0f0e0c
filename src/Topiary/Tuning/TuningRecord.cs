namespace Topiary.Tuning;

/// <summary>One update of a session's <see cref="StrengthTuner"/>, for reports.</summary>
/// <param name="Step">The optimizer steps taken when it ran.</param>
/// <param name="ScheduledStrength">γ_t of the method's schedule at that step (the step strength is m·γ_t).</param>
/// <param name="Update">What the tuner did.</param>
public sealed record TuningRecord(long Step, double ScheduledStrength, TuningUpdate Update);
